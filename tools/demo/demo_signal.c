/*
 * The demo's signal and band-power features (see demo_signal.h).
 *
 * Features use one complex FFT for two channels at once: the transform of
 * x + iy gives both real spectra by conjugate symmetry, halving the work.
 * The FFT is iterative radix-2 with tables of twiddles and bit reversals
 * made once per process.
 */
#include "demo_signal.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

const struct demo_band demo_bands[DEMO_BANDS] = {
    {"delta", 1, 4}, {"theta", 4, 8}, {"alpha", 8, 13}, {"beta", 13, 30}, {"gamma", 30, 100},
};

/* Two integer frequencies per band, away from the edges. */
static const unsigned band_hz[DEMO_BANDS][2] = {{2, 3}, {5, 6}, {9, 11}, {17, 22}, {37, 44}};

unsigned demo_channel_band(uint32_t channel)
{
    return channel % DEMO_BANDS;
}

unsigned demo_channel_hz(uint32_t channel)
{
    return band_hz[channel % DEMO_BANDS][(channel / DEMO_BANDS) % 2];
}

/* sin(2 pi k / DEMO_RATE_HZ): a sine of f Hz at sample n is sine_table[f * n % rate]. */
static float sine_table[DEMO_RATE_HZ];

static void fill_sine_table(void)
{
    if (sine_table[DEMO_RATE_HZ / 4] != 0)
        return; /* sin(pi / 2) is 1 once the table is made */
    const double two_pi = 6.283185307179586;
    for (unsigned k = 0; k < DEMO_RATE_HZ; k++)
        sine_table[k] = (float)sin(two_pi * k / DEMO_RATE_HZ);
}

/* splitmix64's finaliser: a good 64-bit mix of a counter. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [-0.5, 0.5), from the top 24 bits: exact in float. */
static float noise(uint64_t sample, uint32_t channel)
{
    uint64_t bits = mix64(sample * 0x10001u + channel + 0x9e3779b97f4a7c15u) >> 40;
    return (float)bits * 0x1p-24f - 0.5f;
}

static float amplitude(uint32_t channel)
{
    return 1.0f + 0.25f * (float)(channel % 7);
}

void demo_signal(uint64_t first, uint64_t n, uint32_t channels, float *out)
{
    fill_sine_table();
    for (uint32_t c = 0; c < channels; c++) {
        unsigned hz = demo_channel_hz(c);
        unsigned phase = (unsigned)(first % DEMO_RATE_HZ * hz % DEMO_RATE_HZ);
        float a = amplitude(c);
        for (uint64_t i = 0; i < n; i++) {
            out[i * channels + c] = a * sine_table[phase] + noise(first + i, c);
            phase += hz; /* hz < DEMO_RATE_HZ, so one subtraction wraps it */
            phase -= phase >= DEMO_RATE_HZ ? DEMO_RATE_HZ : 0;
        }
    }
}

/* ---- Band power --------------------------------------------------------------- */

struct demo_features {
    uint32_t window, channels;
    double *hann;            /* window */
    double *cos_table, *sin_table; /* window / 2: cos and -sin of 2 pi k / window */
    uint32_t *reversed;      /* window: bit-reversed indices */
    double *re, *im;         /* window each: the working spectrum */
    unsigned band_first[DEMO_BANDS], band_end[DEMO_BANDS]; /* bins */
    double scale;            /* one periodogram normalisation */
};

static unsigned log2_exact(uint32_t n)
{
    unsigned bits = 0;
    while ((1u << bits) < n)
        bits++;
    return (1u << bits) == n ? bits : 0;
}

static void make_tables(struct demo_features *f, unsigned bits)
{
    const double two_pi = 6.283185307179586;
    uint32_t n = f->window;
    double energy = 0;
    for (uint32_t i = 0; i < n; i++) {
        f->hann[i] = 0.5 - 0.5 * cos(two_pi * i / n);
        energy += f->hann[i] * f->hann[i];
        uint32_t r = 0;
        for (unsigned b = 0; b < bits; b++)
            r |= ((i >> b) & 1u) << (bits - 1 - b);
        f->reversed[i] = r;
    }
    for (uint32_t k = 0; k < n / 2; k++) {
        f->cos_table[k] = cos(two_pi * k / n);
        f->sin_table[k] = -sin(two_pi * k / n);
    }
    f->scale = 1.0 / (energy * DEMO_RATE_HZ);
    for (unsigned b = 0; b < DEMO_BANDS; b++) {
        /* bin k is k * rate / n Hz */
        f->band_first[b] = (unsigned)ceil(demo_bands[b].low_hz * n / DEMO_RATE_HZ);
        f->band_end[b] = (unsigned)ceil(demo_bands[b].high_hz * n / DEMO_RATE_HZ);
        if (f->band_end[b] > n / 2)
            f->band_end[b] = n / 2;
    }
}

struct demo_features *demo_features_new(uint32_t window, uint32_t channels)
{
    unsigned bits = log2_exact(window);
    if (bits < 4 || window > DEMO_MAX_WINDOW || channels == 0)
        return NULL;
    struct demo_features *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->window = window;
    f->channels = channels;
    f->hann = malloc(window * sizeof *f->hann);
    f->cos_table = malloc(window / 2 * sizeof *f->cos_table);
    f->sin_table = malloc(window / 2 * sizeof *f->sin_table);
    f->reversed = malloc(window * sizeof *f->reversed);
    f->re = malloc(window * sizeof *f->re);
    f->im = malloc(window * sizeof *f->im);
    if (!f->hann || !f->cos_table || !f->sin_table || !f->reversed || !f->re || !f->im) {
        demo_features_free(f);
        return NULL;
    }
    make_tables(f, bits);
    return f;
}

void demo_features_free(struct demo_features *f)
{
    if (f == NULL)
        return;
    free(f->hann);
    free(f->cos_table);
    free(f->sin_table);
    free(f->reversed);
    free(f->re);
    free(f->im);
    free(f);
}

/* In place, input already in bit-reversed order. */
static void fft(struct demo_features *f)
{
    uint32_t n = f->window;
    double *re = f->re, *im = f->im;
    for (uint32_t half = 1; half < n; half *= 2) {
        uint32_t stride = n / (2 * half);
        for (uint32_t k = 0; k < half; k++) {
            double wr = f->cos_table[k * stride], wi = f->sin_table[k * stride];
            for (uint32_t a = k; a < n; a += 2 * half) {
                uint32_t b = a + half;
                double tr = wr * re[b] - wi * im[b], ti = wr * im[b] + wi * re[b];
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}

/* Loads channels a and b (b may equal a) as x + iy, windowed, bit-reversed. */
static void load_pair(struct demo_features *f, const float *frames, uint32_t a, uint32_t b)
{
    for (uint32_t i = 0; i < f->window; i++) {
        const float *frame = frames + (size_t)i * f->channels;
        double w = f->hann[i];
        uint32_t to = f->reversed[i];
        f->re[to] = w * frame[a];
        f->im[to] = a == b ? 0.0 : w * frame[b];
    }
}

/*
 * The band powers of x (re) and y (im) from the spectrum Z of x + iy:
 * X_k = (Z_k + conj Z_{n-k}) / 2 and Y_k = (Z_k - conj Z_{n-k}) / 2i.
 */
static void band_powers(const struct demo_features *f, double *x_out, double *y_out)
{
    uint32_t n = f->window;
    for (unsigned b = 0; b < DEMO_BANDS; b++) {
        double px = 0, py = 0;
        for (unsigned k = f->band_first[b]; k < f->band_end[b]; k++) {
            uint32_t m = (n - k) % n;
            double xr = 0.5 * (f->re[k] + f->re[m]), xi = 0.5 * (f->im[k] - f->im[m]);
            double yr = 0.5 * (f->im[k] + f->im[m]), yi = -0.5 * (f->re[k] - f->re[m]);
            px += xr * xr + xi * xi;
            py += yr * yr + yi * yi;
        }
        /* one-sided: the negative frequencies carry as much again */
        x_out[b] = 2 * px * f->scale;
        if (y_out != NULL)
            y_out[b] = 2 * py * f->scale;
    }
}

void demo_features_compute(struct demo_features *f, const float *frames, double *out)
{
    for (uint32_t c = 0; c < f->channels; c += 2) {
        bool pair = c + 1 < f->channels;
        load_pair(f, frames, c, pair ? c + 1 : c);
        fft(f);
        band_powers(f, out + (size_t)c * DEMO_BANDS,
                    pair ? out + (size_t)(c + 1) * DEMO_BANDS : NULL);
    }
}

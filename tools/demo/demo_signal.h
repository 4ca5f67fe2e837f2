/*
 * The demo's synthetic acquisition and its features: a known signal that any
 * process can regenerate sample by sample, and band power per channel per
 * window. Both are pure functions of their arguments, so the verifier's
 * recomputation is bit-for-bit the analysis processes' computation.
 *
 * The signal: channel c carries a sine of an integer frequency in one EEG
 * band (delta, theta, alpha, beta, gamma, in turn) plus uniform noise from a
 * counter-based generator, sampled at DEMO_RATE_HZ as float32. Integer
 * frequencies make the sine periodic in DEMO_RATE_HZ samples, so one table
 * serves every channel and no error accumulates over long runs.
 */
#ifndef STASH_TOOLS_DEMO_SIGNAL_H
#define STASH_TOOLS_DEMO_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

#define DEMO_RATE_HZ 1000
#define DEMO_BANDS 5
#define DEMO_MAX_WINDOW 65536 /* samples; a power of two at most this */

struct demo_band {
    const char *name;
    double low_hz, high_hz; /* [low, high) */
};

extern const struct demo_band demo_bands[DEMO_BANDS];

/* The frequency of channel c's sine, in Hz, and the band it falls in. */
unsigned demo_channel_hz(uint32_t channel);
unsigned demo_channel_band(uint32_t channel);

/* Samples [first, first + n) of every channel, frame after frame, into out. */
void demo_signal(uint64_t first, uint64_t n, uint32_t channels, float *out);

/* Band power of one window: what the FFT needs, made once per process. */
struct demo_features;

/* NULL if window is not a power of two in [16, DEMO_MAX_WINDOW] or memory runs out. */
struct demo_features *demo_features_new(uint32_t window, uint32_t channels);
void demo_features_free(struct demo_features *f);

/*
 * The power of every channel in every band of one window (window frames of
 * channels float32, as the ring holds them), into out[channels][DEMO_BANDS]:
 * the Hann-windowed periodogram summed over the band's bins.
 */
void demo_features_compute(struct demo_features *f, const float *frames, double *out);

#endif

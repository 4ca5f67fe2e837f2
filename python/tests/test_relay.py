"""stash.Relay and the ring's numbering for copies: first_sample, skip_to, a ring followed
over ZeroMQ by a Python subscriber from a C publisher (`stash ring publish`) and from a
Python one, and pyzmq speaking the protocol of docs/ring.md to both ends.

Peers are real: ipc:// endpoints in the test's own directory or free tcp://127.0.0.1
ports, and every process and thread started here is stopped, also when a test fails.
Nothing asserts a rate or a duration.
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import numpy as np
import pytest

import stash

CHANNELS = 4
WAIT = 20.0  # seconds: generous on a loaded 2-core machine; a pass never waits this long


def frames(first, end, channels=CHANNELS):
    """Samples first..end-1: sample k, channel c holds k * 10 + c, so equal data means equal
    sample numbers."""
    k = np.arange(first, end, dtype=np.float64)[:, None]
    return (k * 10 + np.arange(channels)).astype(np.float32)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sockets():
    """A short directory for ipc:// sockets: a socket's path holds at most 107 bytes, and
    tmp_path under a build tree's TMPDIR can be longer."""
    path = tempfile.mkdtemp(prefix="stash-relay-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def endpoint(sockets):
    return f"ipc://{sockets}/relay.sock"


@pytest.fixture
def source(tmp_path):
    ring = stash.Ring.create(tmp_path / "source.ring", channels=CHANNELS, capacity=4096,
                             rate=500.0)
    yield ring
    ring.close()


@pytest.fixture
def background():
    """Runs relays in threads: start(relay, **run_kwargs). On the way out every relay is
    stopped and closed and every thread joined; a thread's exception is kept in errors."""
    started = []

    class Background:
        errors = []

        def start(self, relay, **kwargs):
            def run():
                try:
                    relay.run(**kwargs)
                except BaseException as error:  # noqa: BLE001  (checked by the tests)
                    self.errors.append(error)
            thread = threading.Thread(target=run, daemon=True)
            started.append((relay, thread))
            thread.start()
            return thread

    yield Background()
    for relay, thread in started:
        relay.stop()
        thread.join(WAIT)
        relay.close()
        assert not thread.is_alive(), "a relay thread hangs"


@pytest.fixture
def processes():
    """Popen keywords to a child that is killed and reaped on the way out."""
    started = []

    def start(args, **kwargs):
        child = subprocess.Popen(args, **kwargs)
        started.append(child)
        return child
    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(WAIT)


def stash_tool():
    build = os.environ.get("STASH_BUILD_DIR")
    tool = pathlib.Path(build, "stash") if build else None
    if tool is None or not tool.exists():
        pytest.skip("the stash program is not built (STASH_BUILD_DIR)")
    return tool


def wait_until(condition, what):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# ---- A ring that numbers as another: first_sample and skip_to -------------------------

def test_create_numbers_from_first_sample(tmp_path):
    with stash.Ring.create(tmp_path / "r.ring", CHANNELS, 64, first_sample=10**12) as ring:
        assert ring.written == 10**12 and ring.readable_from == 10**12
        ring.put(frames(10**12, 10**12 + 10))
        assert ring.written == 10**12 + 10
        np.testing.assert_array_equal(ring.read(10**12, 10**12 + 10),
                                      frames(10**12, 10**12 + 10))
        with pytest.raises(stash.Overwritten):  # before the first sample: never readable
            ring.read(10**12 - 1, 10**12 + 1)


def test_skip_to_leaves_a_gap_that_reads_overwritten(tmp_path):
    with stash.Ring.create(tmp_path / "r.ring", CHANNELS, 64) as ring:
        ring.put(frames(0, 10))
        ring.skip_to(20)
        assert ring.written == 20
        with pytest.raises(stash.Overwritten):  # never zeros
            ring.read(5, 20)
        ring.put(frames(20, 25))
        np.testing.assert_array_equal(ring.read(20, 25), frames(20, 25))
        with pytest.raises(stash.Overwritten):
            ring.read(15, 25)
        with pytest.raises(stash.OutOfRange):  # backwards
            ring.skip_to(10)


def test_skip_to_needs_the_writer(tmp_path, source):
    with stash.Ring.attach(source.name) as reader, pytest.raises(stash.NotWritable):
        reader.skip_to(100)
    reader.close()
    closed = stash.Ring.attach(source.name)
    closed.close()
    with pytest.raises(stash.Closed):
        closed.skip_to(100)


# ---- Opening: what is refused before any message ---------------------------------------

def test_publish_refuses_a_missing_ring_and_a_bad_mode(tmp_path, source, endpoint):
    with pytest.raises(stash.NotFound):
        stash.Relay.publish(tmp_path / "none.ring", endpoint)
    with pytest.raises(stash.InvalidArgument, match="pubsub"):
        stash.Relay.publish(source.name, endpoint, mode="fanout")
    with pytest.raises(stash.InvalidArgument, match="40 characters"):
        source.publish(endpoint, secret_key="short")
    with pytest.raises(stash.InvalidArgument):
        source.publish(endpoint, chunk=-1)


def test_subscribe_without_a_publisher_times_out_and_makes_no_ring(tmp_path, sockets):
    copy = tmp_path / "copy.ring"
    with pytest.raises(stash.Timeout):
        stash.Ring.subscribe(f"ipc://{sockets}/nobody.sock", copy, timeout=0.3)
    assert not copy.exists()
    # A bad name is said at once: after waiting for metadata this would be stash.Timeout.
    with pytest.raises(stash.InvalidArgument, match="ring name 'bad name'"):
        stash.Ring.subscribe(f"ipc://{sockets}/nobody.sock", "bad name", timeout=WAIT)


# ---- Python publisher, Python subscriber -------------------------------------------------

def test_pushpull_copy_numbers_as_the_source(tmp_path, source, endpoint, background):
    source.put(frames(0, 100))  # before the relay: never sent, a relay never replays
    publisher = source.publish(endpoint, mode="pushpull", chunk=32)
    background.start(publisher)
    follower = stash.Ring.subscribe(endpoint, tmp_path / "copy.ring", mode="pushpull",
                                    timeout=WAIT)
    background.start(follower)
    copy = follower.ring
    assert (copy.channels, copy.capacity, copy.rate, copy.dtype) == (CHANNELS, 4096, 500.0,
                                                                     np.float32)
    assert copy.written == 100 and copy.readable_from == 100
    # More than the capacity, in puts of less (a put of more overwrites its own start before
    # anyone can read it): the copy wraps as any ring.
    source.put(frames(100, 3100))
    copy.wait(3100, timeout=WAIT)
    source.put(frames(3100, 6100))
    copy.wait(6100, timeout=WAIT)
    np.testing.assert_array_equal(copy.read(2100, 6100), frames(2100, 6100))
    stats = follower.stats
    assert stats["samples"] == 6000 and stats["next_sample"] == 6100
    assert stats["gaps"] == 0 and stats["samples_lost"] == 0 and stats["rejected"] == 0
    assert stats["bytes"] == 6000 * CHANNELS * 4
    assert publisher.stats["samples"] == 6000 and publisher.is_publisher
    assert not follower.is_publisher and follower.endpoint == endpoint
    assert not background.errors


def test_run_returns_after_its_timeout_and_after_stop(source, endpoint):
    with source.publish(endpoint) as publisher:
        assert publisher.run(timeout=0.05) is None
        publisher.stop()  # between runs: the next run returns at once
        publisher.run()
        stopper = threading.Timer(0.2, publisher.stop)
        stopper.start()
        publisher.run()  # no limit: returns when stopped from the other thread
        stopper.join()
    assert publisher.closed
    with pytest.raises(stash.Closed):
        publisher.run()
    with pytest.raises(stash.Closed):
        publisher.stats
    publisher.close()  # again: a no-op


def test_close_from_another_thread_ends_a_run(source, endpoint, run_threads):
    publisher = source.publish(endpoint)

    def close_soon():
        time.sleep(0.2)
        publisher.close()
    run_threads(publisher.run, close_soon)  # run returns (None) once the other closes
    assert publisher.closed


def test_ctrl_c_interrupts_run(source, endpoint):
    with source.publish(endpoint) as publisher:
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            publisher.run(timeout=WAIT)
        timer.join()


def test_closing_the_source_ends_both_relays(tmp_path, endpoint, background):
    source = stash.Ring.create(tmp_path / "s.ring", CHANNELS, 1024)
    publisher = source.publish(endpoint, mode="pushpull")
    sender = background.start(publisher)
    follower = stash.Relay.subscribe(endpoint, tmp_path / "copy.ring", mode="pushpull",
                                     timeout=WAIT)
    receiver = background.start(follower)
    source.put(frames(0, 500))
    follower.ring.wait(500, timeout=WAIT)
    source.close()  # the writer gone: the publisher's run says so, once
    sender.join(WAIT)
    assert [type(e) for e in background.errors] == [stash.WriterGone], background.errors
    assert follower.stats["samples"] == 500  # heartbeats: the subscriber still follows
    publisher.close()  # goodbye: the subscriber's run ends
    receiver.join(WAIT)
    assert [type(e) for e in background.errors] == [stash.WriterGone] * 2, background.errors


def test_curve_encrypted_stream(tmp_path, source, endpoint, background):
    zmq = pytest.importorskip("zmq")
    if not zmq.has("curve"):
        pytest.skip("this libzmq was built without CURVE")
    server_public, server_secret = zmq.curve_keypair()  # bytes, as pyzmq makes them
    client_public, client_secret = zmq.curve_keypair()
    background.start(source.publish(endpoint, mode="pushpull", secret_key=server_secret))
    with pytest.raises(stash.Timeout):  # no key, no handshake: nothing arrives
        stash.Ring.subscribe(endpoint, tmp_path / "plain.ring", mode="pushpull", timeout=0.5)
    assert not (tmp_path / "plain.ring").exists()
    follower = stash.Ring.subscribe(endpoint, tmp_path / "copy.ring", mode="pushpull",
                                    timeout=WAIT, server_key=server_public.decode(),
                                    public_key=client_public, secret_key=client_secret)
    background.start(follower)
    source.put(frames(0, 300))
    follower.ring.wait(300, timeout=WAIT)
    np.testing.assert_array_equal(follower.ring.read(0, 300), frames(0, 300))


def test_run_again_follows_a_writer_that_takes_the_ring_over(tmp_path, endpoint, background):
    name = tmp_path / "s.ring"
    source = stash.Ring.create(name, CHANNELS, 1024)
    publisher = source.publish(endpoint, mode="pushpull")
    first = background.start(publisher)
    follower = stash.Relay.subscribe(endpoint, tmp_path / "copy.ring", mode="pushpull",
                                     timeout=WAIT)
    background.start(follower)
    copy = follower.ring
    source.put(frames(0, 200))
    copy.wait(200, timeout=WAIT)
    source.close()
    first.join(WAIT)  # the writer left: run says so, once
    assert [type(e) for e in background.errors] == [stash.WriterGone], background.errors
    with stash.Ring.attach(name, writer=True) as taken_over:
        second = background.start(publisher)  # runs again: waits for a writer, follows it
        taken_over.put(frames(200, 300))
        copy.wait(300, timeout=WAIT)
        np.testing.assert_array_equal(copy.read(0, 300), frames(0, 300))
        assert follower.stats["writer_session"] == 2 and follower.stats["gaps"] == 0
    second.join(WAIT)  # the second writer left too
    assert [type(e) for e in background.errors] == [stash.WriterGone] * 2, background.errors


def test_existing_ring_of_another_geometry_is_refused(tmp_path, source, endpoint, background):
    background.start(source.publish(endpoint))
    stash.Ring.create(tmp_path / "other.ring", CHANNELS + 1, 4096).close()  # no writer now
    with pytest.raises(stash.ShapeMismatch):
        stash.Ring.subscribe(endpoint, tmp_path / "other.ring", timeout=WAIT)


# ---- A C publisher (`stash ring publish`), a Python subscriber ---------------------------

def test_c_publisher_python_subscriber_over_tcp(tmp_path, processes, background):
    tool = stash_tool()
    first = 10**9  # numbers far from 0: the copy must carry them, not count from 0
    numbered = stash.Ring.create(tmp_path / "numbered.ring", CHANNELS, 4096, rate=250.0,
                                 first_sample=first)
    numbered.put(frames(first, first + 50))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # it links its own ASan
    publisher = processes([tool, "ring", "publish", numbered.name, f"tcp://127.0.0.1:{port}",
                           "--chunk", "100"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env)
    follower = stash.Relay.subscribe(f"tcp://127.0.0.1:{port}", tmp_path / "copy.ring",
                                     timeout=WAIT)
    background.start(follower)
    copy = follower.ring
    start = copy.written  # the publisher's current sample when it started
    assert first + 50 <= start and copy.readable_from == start
    numbered.put(frames(first + 50, first + 3050))
    copy.wait(first + 3050, timeout=WAIT)
    np.testing.assert_array_equal(copy.read(start, first + 3050), frames(start, first + 3050))
    numbered.close()  # the source's writer leaves: the publisher says goodbye and exits
    out, err = publisher.communicate(timeout=WAIT)
    assert publisher.returncode == 0, err
    stats = json.loads(out)
    assert stats["end"] == "source gone" and stats["next_sample"] == first + 3050
    wait_until(lambda: background.errors, "the subscriber to see the goodbye")
    assert isinstance(background.errors[0], stash.WriterGone)


# ---- pyzmq speaks docs/ring.md's protocol to both ends ----------------------------------

HEADER = "<4sHBBIIQQ"  # magic, version, type, flags, writer_session, 0, first_sample, count
META_BODY = "<II8sQdII"  # channels, frame_bytes, dtype, capacity, rate, chunk, meta_bytes
META, DATA, GAP, HEARTBEAT, GOODBYE = 1, 2, 3, 4, 5


def message(kind, first=0, count=0, body=b"", session=1, magic=b"SRLY", version=1, flags=0,
            reserved=0):
    return struct.pack(HEADER, magic, version, kind, flags, session, reserved, first,
                       count) + body


def meta_message(first, channels=CHANNELS, capacity=4096, rate=500.0, chunk=256, session=1):
    strings = b"\0" * channels * 2  # no labels, no units
    body = struct.pack(META_BODY, channels, channels * 4, b"<f4", capacity, rate, chunk,
                       len(strings)) + strings
    return message(META, first, body=body, session=session)


def data_message(first, end, session=1):
    return message(DATA, first, end - first, frames(first, end).tobytes(), session=session)


def test_pyzmq_subscriber_decodes_our_messages(source, endpoint, background):
    zmq = pytest.importorskip("zmq")
    source.put(frames(0, 10))
    publisher = source.publish(endpoint, chunk=100)
    background.start(publisher)
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    try:
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVTIMEO, int(WAIT * 1000))
        sub.connect(endpoint)
        m = sub.recv()  # META answers the subscription (a heartbeat may come just before it)
        while struct.unpack_from(HEADER, m)[2] == HEARTBEAT:
            m = sub.recv()
        magic, version, kind, flags, session, zero, first, count = struct.unpack_from(HEADER, m)
        assert (magic, version, kind, flags, zero, first, count) == (b"SRLY", 1, META, 0, 0,
                                                                     10, 0)
        assert session == 1  # the source ring's first writer
        channels, frame_bytes, dtype, capacity, rate, chunk, meta_bytes = struct.unpack_from(
            META_BODY, m, 32)
        assert (channels, frame_bytes, dtype, capacity, rate, chunk) == (
            CHANNELS, 16, b"<f4\0\0\0\0\0", 4096, 500.0, 100)
        assert len(m) == 32 + 40 + meta_bytes and m[72:] == b"\0" * CHANNELS * 2
        source.put(frames(10, 1010))
        received, expect = [], 10
        while expect < 1010:
            m = sub.recv()
            _, _, kind, _, _, _, first, count = struct.unpack_from(HEADER, m)
            if kind != DATA:
                assert kind in (META, HEARTBEAT)
                continue
            assert first == expect and 1 <= count <= 100 and len(m) == 32 + count * 16
            received.append(np.frombuffer(m, "<f4", offset=32).reshape(count, CHANNELS))
            expect += count
        np.testing.assert_array_equal(np.concatenate(received), frames(10, 1010))
        m = sub.recv()  # nothing to send for 250 ms: a heartbeat, carrying the next sample
        assert struct.unpack_from(HEADER, m)[2] == HEARTBEAT
        assert struct.unpack_from(HEADER, m)[6:] == (1010, 0) and len(m) == 32
        publisher.stop()
        publisher.close()
        while struct.unpack_from(HEADER, m)[2] != GOODBYE:
            m = sub.recv()
        assert len(m) == 32
    finally:
        sub.close(linger=0)
        context.term()


HOSTILE = [  # (why, message, the status it is refused with), each with sample 200 expected
    ("short", b"SRLY\x01\x00", "STASH_E_CORRUPT"),
    ("wrong magic", message(HEARTBEAT, 200, magic=b"SRLX"), "STASH_E_CORRUPT"),
    ("another version", message(HEARTBEAT, 200, version=2), "STASH_E_VERSION"),
    ("unknown type", message(9, 200), "STASH_E_CORRUPT"),
    ("a flag set", message(HEARTBEAT, 200, flags=1), "STASH_E_CORRUPT"),
    ("a reserved field set", message(HEARTBEAT, 200, reserved=7), "STASH_E_CORRUPT"),
    ("data of 0 samples", message(DATA, 200, 0), "STASH_E_CORRUPT"),
    ("data shorter than its count", message(DATA, 200, 10, frames(200, 209).tobytes()),
     "STASH_E_CORRUPT"),
    ("data longer than its count", message(DATA, 200, 1, frames(200, 202).tobytes()),
     "STASH_E_CORRUPT"),
    ("more than the chunk", data_message(200, 200 + 257), "STASH_E_CORRUPT"),
    ("samples going backwards", data_message(50, 60), "STASH_E_CORRUPT"),
    ("an absurd jump", data_message(200 + 2**40 + 1, 200 + 2**40 + 2), "STASH_E_CORRUPT"),
    ("past 2**62", message(GAP, 2**62 - 1, 5), "STASH_E_CORRUPT"),
    ("a gap of 0 samples", message(GAP, 200, 0), "STASH_E_CORRUPT"),
    ("a body on a heartbeat", message(HEARTBEAT, 200, body=b"x"), "STASH_E_CORRUPT"),
    ("an older writer session", data_message(200, 201, session=0), "STASH_E_CORRUPT"),
    ("a big-endian dtype", meta_message(200).replace(b"<f4", b">f4"), "STASH_E_DTYPE"),
]


def test_pyzmq_publisher_hand_built_and_hostile_messages(tmp_path, endpoint, background):
    zmq = pytest.importorskip("zmq")
    context = zmq.Context()
    pub = context.socket(zmq.XPUB)  # shows the subscription, as the relay's own publisher
    follower = None
    try:
        pub.setsockopt(zmq.RCVTIMEO, int(WAIT * 1000))
        pub.bind(endpoint)
        opened = []
        opener = threading.Thread(target=lambda: opened.append(stash.Relay.subscribe(
            endpoint, tmp_path / "copy.ring", timeout=WAIT)))
        opener.start()
        assert pub.recv() == b"\x01"  # subscribed to everything
        pub.send(meta_message(100))
        opener.join(WAIT)
        follower = opened[0]
        background.start(follower)
        copy = follower.ring
        assert (copy.written, copy.readable_from, copy.channels, copy.rate) == (100, 100,
                                                                               CHANNELS, 500.0)
        pub.send(data_message(100, 200))
        copy.wait(200, timeout=WAIT)
        np.testing.assert_array_equal(copy.read(100, 200), frames(100, 200))
        for number, (why, hostile, status) in enumerate(HOSTILE, 1):
            pub.send(hostile)
            wait_until(lambda: follower.stats["rejected"] == number, why)
            assert follower.stats["last_rejected"] == status, why
        # None of them ended the run or wrote anything: the stream goes on where it was.
        pub.send(message(HEARTBEAT, 200))
        pub.send(data_message(200, 300))
        copy.wait(300, timeout=WAIT)
        np.testing.assert_array_equal(copy.read(100, 300), frames(100, 300))
        # Samples missing (a DATA dropped past the high-water mark): a gap, never zeros.
        pub.send(data_message(400, 450))
        copy.wait(450, timeout=WAIT)
        with pytest.raises(stash.Overwritten):
            copy.read(250, 450)
        np.testing.assert_array_equal(copy.read(400, 450), frames(400, 450))
        pub.send(message(GAP, 450, 50))  # a publisher that was lapped says so
        pub.send(data_message(500, 510, session=2))  # a new writer took the source over
        copy.wait(510, timeout=WAIT)
        stats = follower.stats
        assert stats["gaps"] == 2 and stats["samples_lost"] == 150
        assert stats["samples"] == 260 and stats["writer_session"] == 2
        assert stats["rejected"] == len(HOSTILE) and not background.errors
        pub.send(message(GOODBYE, 510, session=2))
        wait_until(lambda: background.errors, "the goodbye to end the run")
        assert isinstance(background.errors[0], stash.WriterGone)
        assert follower.stats["rejected"] == len(HOSTILE)  # the goodbye was not refused
    finally:
        if follower is not None:
            follower.close()
        pub.close(linger=0)
        context.term()

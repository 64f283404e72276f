"""Calls RateLimit, Cache and AudioQueue from Python with stubs generated from ../../protos.
Exits 0 when every call worked, 1 otherwise.

    python3 sample.py        (generates the stubs first when they are missing or older than the protos)

Environment: RATELIMIT_ADDRESS, CACHE_ADDRESS, AUDIOQUEUE_ADDRESS (host:port or http://host:port;
https:// uses TLS), PLATFORM_API_KEY (sent as `authorization: Bearer <key>`), RATELIMIT_POLICY,
CACHE_NAMESPACE.
"""
import math
import os
import struct
import sys
import uuid
from urllib.parse import urlsplit

import generate

if not generate.up_to_date():
    try:
        print(generate.generate())
    except generate.MissingTools as e:
        sys.exit(f"failed: {e}")
sys.path.insert(0, generate.GENERATED)

import grpc  # noqa: E402
import audioqueue_pb2  # noqa: E402
import audioqueue_pb2_grpc  # noqa: E402
import cache_pb2  # noqa: E402
import cache_pb2_grpc  # noqa: E402
import ratelimit_pb2  # noqa: E402
import ratelimit_pb2_grpc  # noqa: E402

RATELIMIT = os.environ.get("RATELIMIT_ADDRESS") or "localhost:5101"
CACHE = os.environ.get("CACHE_ADDRESS") or "localhost:5102"
AUDIOQUEUE = os.environ.get("AUDIOQUEUE_ADDRESS") or "localhost:5103"
API_KEY = os.environ.get("PLATFORM_API_KEY") or ""
POLICY = os.environ.get("RATELIMIT_POLICY") or "chat"
NAMESPACE = os.environ.get("CACHE_NAMESPACE") or "samples"
CALL_TIMEOUT = 10  # seconds: every call has a deadline
WATCH_TIMEOUT = 60
FINAL_STATES = {audioqueue_pb2.JOB_STATE_SUCCEEDED, audioqueue_pb2.JOB_STATE_FAILED,
                audioqueue_pb2.JOB_STATE_CANCELLED, audioqueue_pb2.JOB_STATE_DEAD}

# Every call carries the key, when there is one.
METADATA = [("authorization", f"Bearer {API_KEY}")] if API_KEY else []


def channel(address):
    """'localhost:5101', 'http://127.0.0.1:5101/' or 'https://ratelimit.example:443'."""
    url = urlsplit(address if "://" in address else "http://" + address)
    if url.scheme == "https":
        return grpc.secure_channel(url.netloc, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(url.netloc)


def seconds(duration):
    return duration.seconds + duration.nanos / 1e9


def flag(value):
    return "true" if value else "false"


def sine_wav(rate=16000, duration_seconds=0.5, frequency=440):
    """16-bit PCM mono WAV of a sine tone, made here so the sample needs no audio file."""
    samples = round(rate * duration_seconds)
    pcm = b"".join(struct.pack("<h", round(0.5 * 32767 * math.sin(2 * math.pi * frequency * i / rate)))
                   for i in range(samples))
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16,
                         1, 1, rate, rate * 2, 2, 16,  # PCM, mono, rate, bytes/s, bytes/frame, bits
                         b"data", len(pcm))
    return header + pcm


def check_rate_limit(key):
    with channel(RATELIMIT) as ch:
        limiter = ratelimit_pb2_grpc.RateLimiterStub(ch)
        decision = limiter.Check(ratelimit_pb2.CheckRequest(policy=POLICY, key=key),
                                 metadata=METADATA, timeout=CALL_TIMEOUT)
    # A denial is an answer, not an error: wait retry_after and try again.
    print(f"ratelimit: Check policy={decision.policy} key={key} allowed={flag(decision.allowed)} "
          f"remaining={decision.remaining} limit={decision.limit} retry_after={seconds(decision.retry_after):g}s")


def set_and_get(key):
    value = b"hello from the python sample"
    with channel(CACHE) as ch:
        cache = cache_pb2_grpc.CacheStub(ch)
        request = cache_pb2.SetRequest(namespace=NAMESPACE, key=key, value=value, tags=["samples"])
        request.ttl.seconds = 300
        cache.Set(request, metadata=METADATA, timeout=CALL_TIMEOUT)
        print(f"cache: Set namespace={NAMESPACE} key={key} bytes={len(value)} ttl=300s")
        entry = cache.Get(cache_pb2.GetRequest(namespace=NAMESPACE, key=key), metadata=METADATA, timeout=CALL_TIMEOUT)
    if not entry.found or entry.value != value:
        raise RuntimeError(f"cache: Get returned found={flag(entry.found)} value={entry.value!r}")
    print(f'cache: Get namespace={NAMESPACE} key={key} found=true value="{entry.value.decode()}" '
          f"ttl_remaining={seconds(entry.ttl_remaining):g}s")


def enqueue_and_watch(run_id):
    audio = sine_wav()
    with channel(AUDIOQUEUE) as ch:
        queue = audioqueue_pb2_grpc.AudioQueueStub(ch)
        queued = queue.Enqueue(audioqueue_pb2.EnqueueRequest(
            audio=audio, content_type="audio/wav", priority=audioqueue_pb2.PRIORITY_NORMAL, tenant="samples",
            idempotency_key=run_id,  # a retried Enqueue with the same key returns the same job
            metadata={"source": "python-sample"}), metadata=METADATA, timeout=CALL_TIMEOUT)
        print(f"audioqueue: Enqueue job={queued.job_id} bytes={len(audio)} position={queued.position} "
              f"estimated_wait={seconds(queued.estimated_wait):g}s")

        job = None
        # The stream ends after the snapshot with a final state.
        for job in queue.WatchJob(audioqueue_pb2.GetJobRequest(job_id=queued.job_id),
                                  metadata=METADATA, timeout=WATCH_TIMEOUT):
            print(f"audioqueue: WatchJob job={job.id} state={audioqueue_pb2.JobState.Name(job.state)} "
                  f"position={job.position} progress={job.progress:g}")
    if job is None or job.state not in FINAL_STATES:
        state = audioqueue_pb2.JobState.Name(job.state) if job else None
        raise RuntimeError(f"audioqueue: WatchJob ended before the job was final (last state {state})")
    state = audioqueue_pb2.JobState.Name(job.state)
    if job.state != audioqueue_pb2.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"audioqueue: job {job.id} ended {state}: {job.error}")
    print(f"audioqueue: job={job.id} state={state} result={job.result}")


def main():
    run_id = f"python-{uuid.uuid4()}"
    try:
        check_rate_limit(run_id)
        set_and_get(run_id)
        enqueue_and_watch(run_id)
    except grpc.RpcError as e:
        # Rich details (BadRequest, RetryInfo, ErrorInfo) are in the trailer grpc-status-details-bin
        # (e.trailing_metadata()); the grpcio-status package decodes them.
        print(f"failed ({e.code().name}): {e.details()}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"failed: {e}", file=sys.stderr)
        return 1
    print("done: all calls succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())

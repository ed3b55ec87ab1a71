"""The offline server's parts for many prompts: the Batch API, latency, requests in flight.

Driven with google-genai's own client.batches and async client, as gemini_magic does.
"""

import asyncio
import time

import pytest
from google import genai
from google.genai import errors, types

from tests.support import TEST_KEY


@pytest.fixture
def client(server):
    return genai.Client(api_key=TEST_KEY, http_options=types.HttpOptions(base_url=server.url))


def wait(client, name, timeout=10):
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        job = client.batches.get(name=name)
        states.append(job.state.name)
        if job.done:
            return job, states
        time.sleep(0.05)
    raise AssertionError(states)


def test_a_batch_job_goes_pending_running_succeeded_and_answers_in_order(client, quick_batches):
    job = client.batches.create(
        model="gemini-2.5-flash",
        src=[
            {"contents": "first", "metadata": {"key": "a"}},
            {"contents": "second [[offline status=429 tag=b1]]", "metadata": {"key": "b"}},
            {"contents": "third", "metadata": {"key": "c"}, "config": {"max_output_tokens": 5}},
        ],
        config={"display_name": "three"},
    )
    assert job.name.startswith("batches/") and job.state.name == "JOB_STATE_PENDING"
    assert job.display_name == "three" and job.model == "models/gemini-2.5-flash"
    done, states = wait(client, job.name)
    assert states[-1] == "JOB_STATE_SUCCEEDED" and "JOB_STATE_RUNNING" in states
    answers = done.dest.inlined_responses
    assert [a.metadata["key"] for a in answers] == ["a", "b", "c"]
    assert "first" in answers[0].response.text and answers[0].response.usage_metadata.total_token_count
    assert answers[1].error.code == 429 and answers[1].response is None
    assert answers[2].response.candidates[0].finish_reason.name == "MAX_TOKENS"
    assert job.name in [j.name for j in client.batches.list()]


def test_a_batch_job_can_fail_be_cancelled_and_deleted(client, quick_batches):
    failed = client.batches.create(model="gemini-2.5-flash", src=[{"contents": "x [[offline job=FAILED]]"}])
    assert wait(client, failed.name)[0].state.name == "JOB_STATE_FAILED"
    job = client.batches.create(model="gemini-2.5-flash", src=[{"contents": "y"}])
    client.batches.cancel(name=job.name)
    assert client.batches.get(name=job.name).state.name == "JOB_STATE_CANCELLED"
    client.batches.delete(name=job.name)
    with pytest.raises(errors.ClientError) as caught:
        client.batches.get(name=job.name)
    assert caught.value.code == 404


def test_an_unknown_model_or_an_empty_batch_is_refused(client, server):
    with pytest.raises(errors.ClientError) as caught:
        client.batches.create(model="nope-1", src=[{"contents": "x"}])
    assert caught.value.code == 404
    with pytest.raises(errors.ClientError) as caught:
        client.batches.create(model="gemini-2.5-flash", src=[])
    assert caught.value.code == 400


def test_latency_delays_each_answer_and_max_concurrent_counts_requests_in_flight(client, server):
    async def ask(n):
        await asyncio.gather(
            *(
                client.aio.models.generate_content(model="gemini-2.5-flash", contents=f"hi {i} [[offline latency=0.2]]")
                for i in range(n)
            )
        )

    started = time.perf_counter()
    asyncio.run(ask(5))
    assert 0.2 <= time.perf_counter() - started < 1.5
    assert server.max_concurrent == 5
    server.clear()
    assert server.max_concurrent == 0


def test_the_server_wide_latency(server):
    from gemini_magic.offline import OfflineGemini

    with OfflineGemini(delay=0, latency=0.15) as slow:
        client = genai.Client(api_key=TEST_KEY, http_options=types.HttpOptions(base_url=slow.url))
        started = time.perf_counter()
        client.models.generate_content(model="gemini-2.5-flash", contents="hello")
        assert time.perf_counter() - started >= 0.15

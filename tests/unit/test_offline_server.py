"""The offline Gemini server, driven by the real google-genai SDK over real HTTP.

These tests double as the server's documentation: each shows one behaviour a
client can rely on, and what the SDK makes of it.
"""

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
from google import genai
from google.genai import errors, types

from gemini_magic.offline import OfflineGemini, shared_server
from gemini_magic.secrets import REDACTED

MODEL = "gemini-2.5-flash"
KEY = "test-key-do-not-leak"


@pytest.fixture(scope="module")
def server():
    with OfflineGemini(delay=0) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh_records(server):
    server.clear()


@pytest.fixture(scope="module")
def client(server):
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=server.url))


def stream(client, prompt, **config):
    config = types.GenerateContentConfig(**config) if config else None
    return list(client.models.generate_content_stream(model=MODEL, contents=prompt, config=config))


def stream_until_error(client, prompt, **http_options):
    """Chunks received before the stream raised, and the exception."""
    if http_options:
        client = genai.Client(
            api_key=KEY,
            http_options=types.HttpOptions(base_url=client._api_client._http_options.base_url, **http_options),
        )
    received = []
    with pytest.raises(Exception) as info:
        for chunk in client.models.generate_content_stream(model=MODEL, contents=prompt):
            received.append(chunk)
    return received, info.value


def post_raw(server, prompt, action="generateContent"):
    """A plain urllib request, to see status, headers and body as sent."""
    body = json.dumps({"contents": [{"role": "user", "parts": [{"text": prompt}]}]}).encode()
    request = urllib.request.Request(
        f"{server.url}/v1beta/models/{MODEL}:{action}",
        data=body,
        headers={"Content-Type": "application/json", "x-goog-api-key": KEY},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# -- the normal answer --------------------------------------------------------


def test_stream_yields_a_labelled_markdown_demo_answer_in_several_chunks(client):
    chunks = stream(client, "Explain what a p-value is.")

    assert len(chunks) >= 10
    assert all(20 <= len(c.text) <= 60 for c in chunks[:-1])
    text = "".join(c.text for c in chunks)
    assert text.startswith("## Offline demo answer\n")
    assert "offline demo answer" in text and "not come from Gemini" in text
    assert "> Explain what a p-value is." in text  # the prompt is echoed
    assert "\n- " in text and "```python\n" in text
    assert text.rstrip().endswith("for a real answer.*")


def test_usage_and_finish_reason_come_with_the_last_chunk(client):
    chunks = stream(client, "Explain what a p-value is.")

    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    usage = last.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 50
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert all(c.usage_metadata is None for c in chunks[:-1])
    assert last.model_version == f"{MODEL}-offline"


def test_generate_content_returns_the_same_deterministic_text(client):
    streamed = "".join(c.text for c in stream(client, "Same prompt, same answer"))
    once = client.models.generate_content(model=MODEL, contents="Same prompt, same answer")

    assert once.text == streamed
    assert once.candidates[0].finish_reason == types.FinishReason.STOP
    assert once.usage_metadata.total_token_count > 0


def test_max_output_tokens_cuts_the_answer_with_max_tokens(client):
    chunks = stream(client, "Tell me everything", max_output_tokens=10)

    assert len("".join(c.text for c in chunks)) <= 40
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_json_mime_type_gets_a_small_json_object(client):
    answer = client.models.generate_content(
        model=MODEL,
        contents="List three colours",
        config=types.GenerateContentConfig(response_mime_type="application/json"),
    )

    assert json.loads(answer.text) == {"demo": True, "offline": True, "model": MODEL, "prompt": "List three colours"}


def test_thoughts_come_first_as_thought_parts(client):
    chunks = stream(client, "Think first [[offline thoughts=1]]")

    first = chunks[0].candidates[0].content.parts[0]
    assert first.thought is True and first.text.startswith("**Reading the prompt**")
    assert chunks[0].text is None  # .text skips thought parts
    assert "[[offline" not in "".join(c.text or "" for c in chunks)
    assert chunks[-1].usage_metadata.thoughts_token_count > 0


def test_include_thoughts_in_thinking_config_works_too(client):
    chunks = stream(client, "Think", thinking_config=types.ThinkingConfig(include_thoughts=True))

    assert chunks[0].candidates[0].content.parts[0].thought is True


def test_models_list_and_get(client):
    names = [m.name for m in client.models.list()]

    assert names[:5] == [
        "models/gemini-flash-latest",
        "models/gemini-3.8-flash",
        "models/gemini-3.5-flash",
        "models/gemini-2.5-flash",
        "models/gemini-2.5-pro",
    ]
    model = client.models.get(model="gemini-2.5-pro")
    assert model.display_name == "Gemini 2.5 Pro"
    assert "generateContent" in model.supported_actions


def test_count_tokens_is_a_rough_estimate(client):
    assert client.models.count_tokens(model=MODEL, contents="x" * 40).total_tokens == 10


def test_any_api_version_prefix_is_accepted(server):
    status, _, body = post_raw(server, "hello")  # post_raw uses /v1beta/

    assert status == 200 and "Offline demo answer" in json.loads(body)["candidates"][0]["content"]["parts"][0]["text"]


def test_environment_variables_point_a_default_client_at_the_server(server, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "anything")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)

    assert "Offline demo answer" in genai.Client().models.generate_content(model=MODEL, contents="hi").text


# -- what the SDK sent ----------------------------------------------------------


def test_requests_are_recorded_as_sent_with_the_key_redacted(client, server):
    stream(client, "Question?", system_instruction="Be brief.", temperature=0.2, max_output_tokens=500)

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == f"/v1/models/{MODEL}:streamGenerateContent"
    assert request.query == {"alt": "sse"}
    assert request.json["contents"] == [{"role": "user", "parts": [{"text": "Question?"}]}]
    assert request.json["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert request.json["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 500}
    assert request.headers["x-goog-api-key"] == REDACTED
    assert KEY not in repr(server.requests)


def test_echo_key_makes_a_leaky_server_for_redaction_tests(client):
    with pytest.raises(errors.ClientError) as info:
        stream(client, "[[offline echo_key=1]]")

    assert info.value.code == 400 and KEY in info.value.message


# -- errors ------------------------------------------------------------------


def test_unknown_model_is_googles_404(client):
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="xyz", contents="hi")

    assert info.value.code == 404 and info.value.status == "NOT_FOUND"
    assert info.value.message.startswith("models/xyz is not found for API version v1")


@pytest.mark.parametrize(
    "code, exc_type, status",
    [
        (400, errors.ClientError, "INVALID_ARGUMENT"),
        (401, errors.ClientError, "UNAUTHENTICATED"),
        (403, errors.ClientError, "PERMISSION_DENIED"),
        (404, errors.ClientError, "NOT_FOUND"),
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
    ],
)
def test_status_directive_raises_the_matching_sdk_error(client, code, exc_type, status):
    with pytest.raises(exc_type) as info:
        stream(client, f"hi [[offline status={code}]]")

    assert info.value.code == code and info.value.status == status
    assert info.value.message


def test_api_key_and_quota_errors_read_like_googles(client):
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents="[[offline status=400]]")
    assert info.value.message == "API key not valid. Please pass a valid API key."

    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents="[[offline status=429]]")
    assert info.value.message == "Resource has been exhausted (e.g. check quota)."


def test_retry_after_adds_the_header(server):
    status, headers, body = post_raw(server, "[[offline status=429 retry_after=7]]")

    assert status == 429 and headers["Retry-After"] == "7"
    error = json.loads(body)["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"} in error["details"]


def test_fail_times_fails_first_then_sdk_retry_succeeds(server):
    retrying = genai.Client(
        api_key=KEY,
        http_options=types.HttpOptions(
            base_url=server.url, retry_options=types.HttpRetryOptions(attempts=2, initial_delay=0.01, jitter=0)
        ),
    )

    answer = retrying.models.generate_content(
        model=MODEL, contents="[[offline status=503 fail_times=1 tag=retry-test]]"
    )

    assert "Offline demo answer" in answer.text
    assert len(server.requests) == 2


def test_fail_times_counts_per_directive_and_clear_resets_it(client, server):
    prompt = "[[offline status=500 fail_times=1 tag=counter]]"
    with pytest.raises(errors.ServerError):
        client.models.generate_content(model=MODEL, contents=prompt)
    assert client.models.generate_content(model=MODEL, contents=prompt).text

    server.clear()
    with pytest.raises(errors.ServerError):
        client.models.generate_content(model=MODEL, contents=prompt)


def test_a_typo_in_a_directive_is_a_clear_400(client):
    with pytest.raises(errors.ClientError) as info:
        stream(client, "[[offline chunk=5]]")

    assert info.value.code == 400 and "Unknown [[offline]] key 'chunk'" in info.value.message


# -- faults in the middle of a stream -----------------------------------------


def test_drop_after_cuts_the_connection_mid_stream(client):
    received, exc = stream_until_error(client, "[[offline drop_after=3]]")

    assert len(received) == 3
    # The transport's error, not an SDK one: httpx2.RemoteProtocolError.
    assert type(exc).__name__ == "RemoteProtocolError"
    assert "peer closed connection without sending complete message body" in str(exc)


def test_blocked_prompt_has_block_reason_and_no_candidates(client):
    (chunk,) = stream(client, "[[offline block=SAFETY]]")

    assert chunk.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert chunk.candidates is None and chunk.text is None


def test_finish_safety_stops_after_n_chunks(client):
    chunks = stream(client, "[[offline finish=SAFETY after=4]]")

    assert [c.text is not None for c in chunks] == [True] * 4 + [False]
    final = chunks[-1].candidates[0]
    assert final.finish_reason == types.FinishReason.SAFETY
    assert any(r.blocked and r.probability == types.HarmProbability.HIGH for r in final.safety_ratings)
    assert chunks[-1].usage_metadata.candidates_token_count > 0


def test_malformed_event_raises_unknown_api_response_error(client):
    received, exc = stream_until_error(client, "[[offline malformed_after=2]]")

    assert len(received) == 2
    assert isinstance(exc, errors.UnknownApiResponseError)  # a ValueError


def test_malformed_body_without_streaming_raises_json_decode_error(client):
    with pytest.raises(json.JSONDecodeError):
        client.models.generate_content(model=MODEL, contents="[[offline malformed_after=2]]")


def test_error_event_mid_stream_raises_api_error(client):
    received, exc = stream_until_error(client, "[[offline error_after=2 status=503]]")

    assert len(received) == 2
    assert isinstance(exc, errors.ServerError) and exc.code == 503


def test_stall_longer_than_the_timeout_raises_read_timeout(client):
    received, exc = stream_until_error(client, "[[offline stall_after=2 stall=1 tag=timeout]]", timeout=200)  # ms

    assert len(received) == 2
    assert type(exc).__name__ == "ReadTimeout"


def test_stall_shorter_than_the_timeout_just_pauses(client):
    start = time.perf_counter()
    chunks = stream(client, "[[offline stall_after=1 stall=0.2]]")

    assert time.perf_counter() - start >= 0.2
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


# -- benchmarks: exact chunks, pace ---------------------------------------------


def test_chunks_directive_gives_exactly_n_chunks_of_c_chars_fast(client):
    start = time.perf_counter()
    chunks = stream(client, "[[offline chunks=1000 chunk_chars=20 delay=0]]")
    elapsed = time.perf_counter() - start

    assert len(chunks) == 1000
    assert {len(c.text) for c in chunks} == {20}
    text = "".join(c.text for c in chunks)
    assert text.startswith("## Offline benchmark answer") and "```python" in text
    assert "| step | square | note |" in text
    assert elapsed < 2


def test_delay_paces_the_chunks(client):
    start = time.perf_counter()
    chunks = stream(client, "[[offline chunks=4 chunk_chars=7 delay=0.05]]")

    assert [len(c.text) for c in chunks] == [7, 7, 7, 7]
    assert time.perf_counter() - start >= 0.15


# -- the server itself --------------------------------------------------------------


def test_a_client_that_hangs_up_leaves_stderr_quiet(capfd):
    with OfflineGemini(delay=0.01) as srv:
        body = json.dumps({"contents": [{"parts": [{"text": "[[offline chunks=200]]"}]}]})
        conn = http.client.HTTPConnection("127.0.0.1", srv.port)
        conn.request("POST", f"/v1/models/{MODEL}:streamGenerateContent?alt=sse", body)
        response = conn.getresponse()
        assert response.status == 200 and response.read(10)
        conn.sock.close()  # hang up mid-stream
        conn.close()
        time.sleep(0.1)
    assert capfd.readouterr().err == ""


def test_stop_is_quick_even_with_an_idle_keep_alive_connection():
    srv = OfflineGemini(delay=0).start()
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=srv.url))
    client.models.generate_content(model=MODEL, contents="hi")  # leaves a pooled connection

    start = time.perf_counter()
    srv.stop()
    assert time.perf_counter() - start < 0.5 and not srv.running


def test_shared_server_is_one_process_wide_server():
    first = shared_server()

    assert shared_server() is first and first.running
    assert first.url.startswith("http://127.0.0.1:") and first.delay == 0.03

"""Values and helpers the tests share (imported as ``tests.support``)."""

TEST_KEY = "test-key-0123456789abcdef"  # distinctive, so leak scans can find it


def expected_answer(server, prompt, model="gemini-flash-latest", **config):
    """What the server answers for ``prompt``, read with a plain google-genai call."""
    from google import genai
    from google.genai import types

    client = genai.Client(api_key=TEST_KEY, http_options=types.HttpOptions(base_url=server.url))
    chunks = client.models.generate_content_stream(
        model=model, contents=prompt, config=types.GenerateContentConfig(**config)
    )
    return "".join(chunk.text or "" for chunk in chunks)

"""The recording key: any change to anything that shapes the answer changes it; nothing else does;
and it is the same in every process (and, being sha256 over canonical JSON, on every Python)."""

import dataclasses
import json
import subprocess
import sys

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gemini_magic.client import Connection, Request
from gemini_magic.prompt.parts import Blob
from gemini_magic.replay import recording_key

images = st.builds(Blob, st.sampled_from(["image/png", "image/jpeg"]), st.binary(min_size=1, max_size=64))
parts = st.lists(st.one_of(st.text(max_size=40), images), min_size=1, max_size=4).map(tuple)
turns = st.lists(st.tuples(st.sampled_from(["user", "model"]), parts), max_size=3).map(tuple)
schemas = st.none() | st.dictionaries(
    st.text(max_size=5), st.integers() | st.floats(allow_nan=False) | st.text(max_size=5), max_size=3
)

FIELDS = {
    "model": st.from_regex(r"gemini-[a-z0-9.-]{1,12}", fullmatch=True),
    "system": st.none() | st.text(max_size=30),
    "temperature": st.none() | st.floats(0, 2),
    "max_tokens": st.none() | st.integers(1, 10**6),
    "parts": parts,
    "history": turns,
    "response_mime_type": st.sampled_from([None, "application/json"]),
    "response_schema": schemas,
    "thinking_budget": st.none() | st.integers(-1, 10**5),
    "include_thoughts": st.booleans(),
    "search": st.booleans(),
}
requests = st.builds(lambda **f: Request(prompt="", **f), **FIELDS)


@given(requests, st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_change_to_any_part_of_the_request_changes_the_key(request, data):
    name = data.draw(st.sampled_from(sorted(FIELDS)))
    value = data.draw(FIELDS[name])
    assume(json.dumps(repr(value)) != json.dumps(repr(getattr(request, name))))
    changed = dataclasses.replace(request, **{name: value})
    assert recording_key(changed) != recording_key(request), name


@given(requests, st.integers(0, 63), st.data())
def test_one_byte_of_one_image_changes_the_key(request, at, data):
    image = data.draw(images)
    with_image = dataclasses.replace(request, parts=(image,) + request.parts)
    flipped = bytearray(image.data)
    flipped[at % len(flipped)] ^= 1
    other = dataclasses.replace(request, parts=(Blob(image.mime_type, bytes(flipped)),) + request.parts)
    assert recording_key(with_image) != recording_key(other)


@given(requests, st.text(max_size=20), st.floats(1, 600))
def test_where_the_request_goes_is_not_part_of_the_key(request, url, timeout):
    elsewhere = dataclasses.replace(request, connection=Connection(offline_url=url, timeout=timeout, retries=7))
    assert recording_key(elsewhere) == recording_key(request)


@given(requests)
def test_the_same_request_gives_the_same_key(request):
    assert recording_key(request) == recording_key(dataclasses.replace(request))


SAMPLE = """
from gemini_magic.client import Request
from gemini_magic.prompt.parts import Blob
from gemini_magic.replay import recording_key
requests = [
    Request(prompt="", model="gemini-2.5-flash", parts=("Explain a p-value.",)),
    Request(prompt="", model="gemini-2.5-pro", system="Be terse.", temperature=0.1, max_tokens=300,
            parts=(Blob("image/png", bytes(range(256))), "What is in this picture? ünïcødé ✓"),
            history=(("user", ("Hi",)), ("model", ("Hello!",))),
            response_mime_type="application/json", response_schema={"type": "object", "minimum": 0.3},
            thinking_budget=-1, include_thoughts=True, search=True),
]
print(" ".join(recording_key(r) for r in requests))
"""

# The keys of SAMPLE's requests, pinned (computed on CPython 3.11): a change to the canonical
# form, or a Python whose json, float.hex or sha256 behaved differently, fails here.
PINNED_KEYS = [
    "47be870be31c7f49b7d03bd5e513ded1a9f45007d0adb250833eb03a282283ea",
    "36f143263a3a71c10c1a3351736e07f46a758854b7f4dd61160659134707892d",
]


ROOT = str(__import__("pathlib").Path(__file__).resolve().parents[2])


def keys_in_a_new_process(seed: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", SAMPLE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "PYTHONPATH": ROOT},
    )
    return run.stdout.split()


def test_the_same_request_gives_the_same_key_in_every_process():
    first, second = keys_in_a_new_process("1"), keys_in_a_new_process("2")
    assert first == second and len(first) == 2 and first[0] != first[1]
    namespace: dict = {}
    exec(SAMPLE.replace("print(", "keys = ("), namespace)
    assert namespace["keys"].split() == first
    assert first == PINNED_KEYS

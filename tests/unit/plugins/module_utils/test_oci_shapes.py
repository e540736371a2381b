"""Shape limits from ListShapes (module_utils/oci_shapes.py), on the SDK's own Shape models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from oci.core.models import Shape, ShapeMemoryOptions, ShapeOcpuOptions

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_shapes  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError, Failure, InputError  # noqa: E402


def flex(name, ocpus=(1, 64), memory=(1, 1024), per_ocpu=(1, 64)):
    return Shape(shape=name, is_flexible=True, ocpu_options=ShapeOcpuOptions(min=ocpus[0], max=ocpus[1]),
                 memory_options=ShapeMemoryOptions(min_in_g_bs=memory[0], max_in_g_bs=memory[1],
                                                   min_per_ocpu_in_gbs=per_ocpu[0], max_per_ocpu_in_gbs=per_ocpu[1]))


# A shape the collection has never heard of, with limits of its own: only what OCI lists counts.
OFFERED = [flex("VM.Standard.E4.Flex"), flex("VM.Standard.X9.Flex", ocpus=(2, 256), memory=(8, 4096), per_ocpu=(2, 32)),
           Shape(shape="VM.Standard2.4", is_flexible=False, ocpus=4, memory_in_gbs=60)]


class Progress:
    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


class Policy:
    """Stands in for RetryPolicy.call: answers ListShapes from `pages` (or raises `error`)."""

    def __init__(self, pages=None, error=None):
        self.pages, self.error, self.calls, self.progress = pages or [OFFERED], error, [], Progress()

    def call(self, operation, func, *args, **kwargs):
        self.calls.append((operation, kwargs))
        return func(*args, **kwargs)


class Clients:
    def __init__(self, policy):
        self.compute = self
        self._policy = policy

    def list_shapes(self, compartment_id, **kwargs):
        if self._policy.error:
            raise self._policy.error
        idx = int(kwargs.get("page") or 0)
        pages = self._policy.pages

        class Response:
            data = pages[idx]
            next_page = str(idx + 1) if idx + 1 < len(pages) else None
        return Response()


def check(configs, policy=None):
    policy = policy or Policy()
    oci_shapes.check_shape_limits(Clients(policy), policy, "ocid1.compartment.oc1..aaaaaaaaexample", "hxIl:ME-JEDDAH-1-AD-1", configs)
    return policy


def cfg(shape, ocpus, memory):
    return {"shape": shape, "ocpus": ocpus, "memory_in_gbs": memory}


def test_a_shape_only_oci_knows_is_accepted_inside_its_listed_limits():
    policy = check([("lms_shape", cfg("VM.Standard.X9.Flex", 200, 1600)), ("services_shape", cfg("VM.Standard.E4.Flex", 16, 64))])
    operation, kwargs = policy.calls[0]
    assert operation == "ListShapes" and kwargs["availability_domain"] == "hxIl:ME-JEDDAH-1-AD-1"


@pytest.mark.parametrize(("config", "field", "words"), [
    (cfg("VM.Standard.E9.Flex", 2, 16), "lms_shape.shape", "not offered"),
    (cfg("VM.Standard2.4", 4, 60), "lms_shape.shape", "fixed shape"),
    (cfg("VM.Standard.X9.Flex", 1, 16), "lms_shape.ocpus", "range 2-256"),
    (cfg("VM.Standard.X9.Flex", 200, 5000), "lms_shape.memory_in_gbs", "range 8-4096"),
    (cfg("VM.Standard.X9.Flex", 100, 4000), "lms_shape.memory_in_gbs", "2-32 GB per OCPU"),
    (cfg("VM.Standard.E4.Flex", 2, 1), "lms_shape.memory_in_gbs", "1-64 GB per OCPU"),
])
def test_limits_come_from_list_shapes(config, field, words):
    with pytest.raises(InputError) as err:
        check([("lms_shape", config)])
    assert err.value.field == field and words in str(err.value) and "Fix:" in str(err.value)


def test_every_problem_is_reported_at_once_under_its_own_name():
    with pytest.raises(InputError) as err:
        check([("lms_shape", cfg("VM.Standard.E9.Flex", 2, 16)), ("services_shape", cfg("VM.Standard.E4.Flex", 65, 128)),
               ("alternative_shapes[0]", cfg("VM.Standard.E9.Flex", 2, 16))])
    text = str(err.value)
    assert "lms_shape.shape" in text and "services_shape.ocpus: " in text and "alternative_shapes[0].shape" in text
    # the one it offers instead are named in the fix
    assert "VM.Standard.X9.Flex" in text and "VM.Standard2.4" not in text.split("Fix:")[1]


def test_every_page_is_read():
    policy = check([("lms_shape", cfg("VM.Standard.X9.Flex", 8, 64))], Policy(pages=[[flex("VM.Standard.E4.Flex")], [OFFERED[1]]]))
    assert [kwargs.get("page") for _op, kwargs in policy.calls] == [None, "1"]


def test_a_denied_listing_warns_and_leaves_the_limits_to_the_create_calls():
    denied = ApiError("ListShapes", Failure("fatal", status=404, code="NotAuthorizedOrNotFound", message="Authorization failed"))
    policy = check([("lms_shape", cfg("VM.Standard.E9.Flex", 2, 16))], Policy(error=denied))
    assert len(policy.progress.warnings) == 1 and "ListShapes was denied (404 NotAuthorizedOrNotFound)" in policy.progress.warnings[0]


def test_other_failures_are_not_swallowed():
    broken = ApiError("ListShapes", Failure("transient", status=500, code="InternalError", message="boom"))
    with pytest.raises(ApiError):
        check([("lms_shape", cfg("VM.Standard.E4.Flex", 2, 16))], Policy(error=broken))

"""Sandbox control endpoints under /_sandbox/ (not OCI; unsigned, loopback test control only).

GET  /_sandbox/state                 full state dump (resources, capacity, tokens, counters, clock)
GET  /_sandbox/clock                 the sandbox clock
POST /_sandbox/clock/advance?seconds=N   move the clock forward (a client's "sleep N")
GET  /_sandbox/settings, PUT /_sandbox/settings   run-time settings (kube_api_url, ...)
PUT  /_sandbox/capacity              set a pool's free capacity now
"""

from __future__ import annotations

from ..errors import invalid
from ..router import Context, Reply, route
from ..scenario import CapacityPool
from ..state import Pool


@route("GET", "/_sandbox/state", "_sandbox.State")
def state(ctx: Context) -> Reply:
    return Reply(200, ctx.server.dump_state())


@route("GET", "/_sandbox/health", "_sandbox.Health")
def health(ctx: Context) -> Reply:
    return Reply(200, {"status": "ok", "scenario": ctx.sc.name})


@route("GET", "/_sandbox/clock", "_sandbox.Clock")
def clock(ctx: Context) -> Reply:
    return Reply(200, ctx.store.clock.dump())


@route("POST", "/_sandbox/clock/advance", "_sandbox.AdvanceClock")
def advance(ctx: Context) -> Reply:
    raw = ctx.q("seconds")
    if raw is None and ctx.raw_body:
        raw = ctx.json().get("seconds")
    try:
        seconds = float(raw)
    except (TypeError, ValueError) as exc:
        raise invalid("seconds", "pass ?seconds=N with N >= 0") from exc
    if seconds < 0:
        raise invalid("seconds", "the clock only moves forward")
    ctx.store.clock.advance(seconds, by_client=True)
    ctx.store.tick()
    return Reply(200, ctx.store.clock.dump())


@route("GET", "/_sandbox/settings", "_sandbox.GetSettings")
def get_settings(ctx: Context) -> Reply:
    return Reply(200, ctx.store.settings())


@route("PUT", "/_sandbox/settings", "_sandbox.PutSettings")
def put_settings(ctx: Context) -> Reply:
    ctx.server.override_settings(ctx.json())
    return Reply(200, ctx.store.settings())


@route("PUT", "/_sandbox/capacity", "_sandbox.SetCapacity")
def set_capacity(ctx: Context) -> Reply:
    body = ctx.json()
    for name in ("fault_domain", "shape", "ocpus", "memory_gbs"):
        if name not in body:
            raise invalid(name, "required (body: availability_domain?, fault_domain, shape, ocpus, memory_gbs)")
    ad = body.get("availability_domain") or ctx.sc.availability_domains[0].name
    key = (ad, body["fault_domain"], body["shape"])
    pool = ctx.store.pools.get(key)
    if pool is None:
        pool = ctx.store.pools[key] = Pool(CapacityPool(body["fault_domain"], body["shape"], 0, 0, ad), 0, 0)
    pool.free_ocpus, pool.free_memory_gbs = float(body["ocpus"]), float(body["memory_gbs"])
    return Reply(200, pool.dump())

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's variables checked against its specification: the types and choices of meta/argument_specs.yml and the
ranges, lengths, patterns and cross-field rules of meta/constraints.yml (ansible-core's role validation checks only
types and choices, and ansible-lint's schema admits no other keys in argument_specs.yml, so they live beside it).

constraints.yml:
  constraints:  variable -> {min, max, above (exclusive minimum), min_length, max_length, pattern (a name of PATTERNS
                or a regular expression), ocid (resource types), empty (an empty value is allowed), writable (dir or
                file: a controller path), odd, elements (the same keys for each list element), seconds_range,
                forbidden_keys (keys a mapping may not set) with why}
  rules:        [{le: [a, b]}, {distinct: [a, b, ...]}, {ge_sum: [a, b, c, ...]}] (a >= b + c + ...; 0 = unset)
Every message names the variable and the fix; the value is shown only for options without no_log.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.six import string_types
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import check_ocid
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
_DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
# name -> (regular expression, what a valid value looks like). All but path refuse whitespace and non-ASCII.
PATTERNS = {
    "name": (r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$",
             "1-63 ASCII letters, digits, '-', '_' or '.', starting and ending with a letter or digit"),
    "k8s_name": (r"^%s$" % _DNS_LABEL, "a Kubernetes name: up to 63 lowercase letters, digits and '-', e.g. openedx"),
    "k8s_subdomain": (r"^%s(\.%s)*$" % (_DNS_LABEL, _DNS_LABEL), "a Kubernetes object name: lowercase DNS labels joined by '.', e.g. tutor-config"),
    "dns_name": (r"^(?=.{1,253}$)%s(\.%s)*$" % (_DNS_LABEL, _DNS_LABEL), "a lowercase DNS name, e.g. lms.example.org"),
    "label_key": (r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?%s$" % _LABEL, "a Kubernetes label key, e.g. openedx-scale/pool"),
    "label_value": (r"^(%s)?$" % _LABEL, "a Kubernetes label value: up to 63 letters, digits, '-', '_' or '.'"),
    "quantity": (r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?$", "a Kubernetes quantity, e.g. 2, 500m or 4Gi"),
    "redis_memory": (r"^[0-9]+([kmg]b?)?$", "a Redis memory size, e.g. 2gb"),
    "jvm_heap": (r"^[0-9]+[kmgKMG]?$", "a JVM heap size, e.g. 2g"),
    "rate": (r"^[0-9]+/[0-9]*[smhd]$", "a Django rate, e.g. 100/5m"),
    "url": (r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$", "an http(s) URL, e.g. https://lms.example.org"),
    "version": (r"^v?[0-9]+(\.[0-9]+){1,2}$", "a release version, e.g. 22.0.3"),
    "unix_name": (r"^[a-z_][a-z0-9_-]{0,31}$", "a Unix user or group name, e.g. locust"),
    "executable": (r"^[!-~]+$", "a command name on PATH or a path, without spaces"),
    "path": (r"^(?! )[^\x00\n\r\t]*(?<! )$", "a path on one line, without leading or trailing spaces"),
    "host": (r"^([A-Za-z0-9.-]{1,253}|\[?[0-9A-Fa-f:]+\]?)$", "a host name or IP address"),
    "image": (r"^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9._-]{1,128})?(@sha256:[0-9a-f]{64})?$",
              "a container image reference, e.g. registry.k8s.io/pause:3.10"),
    "course_key": (r"^course-v1:[A-Za-z0-9._~-]+\+[A-Za-z0-9._~-]+\+[A-Za-z0-9._~-]+$", "a course run key, e.g. course-v1:ORG+COURSE+RUN"),
    "slug": (r"^[a-z0-9]([a-z0-9_-]{0,98}[a-z0-9])?$", "a slug: lowercase letters, digits, '-' and '_'"),
    "sha256": (r"^sha256:[0-9a-f]{64}$", "sha256:<64 hex digits>"),
    "chart_ref": (r"^[!-~]+$", "a chart name, an oci:// reference or a path, without spaces"),
    "email_domain": (r"^(?=.{1,253}$)%s(\.%s)+$" % (_DNS_LABEL, _DNS_LABEL), "an email domain, e.g. example.com"),
    "ssh_public_key": (r"^(ssh-|ecdsa-|sk-)[!-~]+ [A-Za-z0-9+/=]+( [ -~]*)?$", "one OpenSSH public key line, e.g. ssh-ed25519 AAAA... comment"),
    "private_key": (r"^-----BEGIN [A-Z ]*PRIVATE KEY-----", "a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)"),
    "password": (r"^[^\s,'\"]{12,128}$", "12-128 characters without spaces, commas or quotes"),
}
# Variables of these forms hold or sit next to key material: their values are never echoed.
_SECRET_PATTERNS = ("ssh_public_key", "private_key", "password")
_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "a string", "list": "a list",
               "dict": "a mapping", "path": "a path", "raw": "a value"}


class SpecChecker(object):
    """Checks one entry point of a role: `options` from argument_specs.yml, `constraints` from constraints.yml."""

    def __init__(self, options, constraints=None, region=None):
        self.options = options or {}
        data = constraints or {}
        self.constraints = data.get("constraints") or {}
        self.rules = data.get("rules") or []
        self.region = region or ""

    def _show(self, name, value):
        """The value for a message: never a no_log option's, nor anything that may be a key pasted in the wrong place."""
        text = str(value)
        if self.options.get(name, {}).get("no_log") or "\n" in text or "PRIVATE KEY" in text or \
                {(self.constraints.get(name) or {}).get("pattern"), ((self.constraints.get(name) or {}).get("elements") or {}).get("pattern")} & \
                set(_SECRET_PATTERNS):
            return "the value given"
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."

    def problems(self, values):
        """Every problem of `values` (variable -> value), as 'variable: problem Fix: fix' messages."""
        spec = dict((k, v) for k, v in self.options.items() if k in values or v.get("required"))
        given = copy.deepcopy(dict((k, v) for k, v in values.items() if k in spec))  # the validator fills defaults in place
        problems, bad_types = self._shapes(spec, given)
        result = ArgumentSpecValidator(dict((k, v) for k, v in spec.items() if k not in bad_types)).validate(
            dict((k, v) for k, v in given.items() if k not in bad_types))
        for error in result.errors:
            text = str(error)
            names = [n for n in spec if re.search(r"\b%s\b" % re.escape(n), text)]
            bad_types.update(names)
            name = names[0] if names else "argument"
            option = spec.get(name, {})
            want = _TYPE_WORDS.get(option.get("type", "str"), option.get("type"))
            if option.get("elements"):
                want += " of %s" % _TYPE_WORDS.get(option["elements"], option["elements"])
            fix = "set %s to %s%s." % (name, want, (" (one of %s)" % ", ".join(str(c) for c in option["choices"])) if option.get("choices") else "")
            if option.get("no_log"):
                text = "the value given does not validate as %s" % want
            problems.append(InputError(text.rstrip(".") + ".", field=name, fix=fix).msg)
        typed = result.validated_parameters
        for name, value in typed.items():
            if name in bad_types or name not in self.constraints:
                continue
            for msg in self._check(name, name, value, self.constraints[name]):
                problems.append(msg)
        for rule in self.rules:
            problems.extend(self._rule(rule, typed, bad_types))
        return problems

    @staticmethod
    def _shapes(spec, given):
        """Options with suboptions given something other than a mapping (or a list of them): ansible-core's validator
        fails on those with a TypeError instead of naming them."""
        problems, bad = [], set()
        for name, value in given.items():
            option = spec[name]
            if not option.get("options") or value is None:
                continue
            items = value if option.get("type") == "list" and isinstance(value, list) else [value]
            want = "a list of mappings" if option.get("type") == "list" else "a mapping"
            if (option.get("type") == "list" and not isinstance(value, list)) or not all(isinstance(i, dict) for i in items):
                bad.add(name)
                problems.append(InputError("is %s, not %s." % (type(value).__name__, want), field=name,
                                           fix="set %s to %s with the keys its description lists." % (name, want)).msg)
        return problems, bad

    def _error(self, field, problem, fix):
        return InputError(problem, field=field, fix=fix).msg

    def _check(self, name, field, value, rule):
        if value is None:
            return []
        if isinstance(value, string_types) and value == "" and rule.get("empty"):
            return []
        if rule.get("seconds_range"):
            return self._seconds_range(name, field, value)
        out = []
        if isinstance(value, string_types) and any(k in rule for k in ("min", "max", "above")):
            value = inventory_number(value)  # a quoted number in the inventory (type raw keeps it a string)
            if isinstance(value, string_types):
                return [self._error(field, "%s is not a number." % self._show(name, value), "set %s to a number." % field)]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.extend(self._range(name, field, value, rule))
        if isinstance(value, (string_types, list, dict)):
            out.extend(self._length(name, field, value, rule))
        if isinstance(value, string_types):
            out.extend(self._string(name, field, value, rule))
        if isinstance(value, dict) and rule.get("forbidden_keys"):
            taken = sorted(set(value) & set(rule["forbidden_keys"]))
            if taken:
                out.append(self._error(field, "sets %s, which the deployment's layout fixes." % ", ".join(taken),
                                       "remove %s from %s: %s." % (", ".join(taken), field, rule.get("why", "the role sets them"))))
        if isinstance(value, list) and rule.get("elements"):
            for idx, item in enumerate(value):
                out.extend(self._check(name, "%s[%d]" % (field, idx), item, rule["elements"]))
        return out

    def _range(self, name, field, value, rule):
        shown = self._show(name, value)
        lo, hi, above = rule.get("min"), rule.get("max"), rule.get("above")
        parts = ["at least %s" % lo] if lo is not None else ["more than %s" % above] if above is not None else []
        bounds = " and ".join(parts + (["at most %s" % hi] if hi is not None else []))
        if (lo is not None and value < lo) or (above is not None and value <= above) or (hi is not None and value > hi):
            return [self._error(field, "%s is out of range: it must be %s." % (shown, bounds), "set %s to a value %s." % (field, bounds))]
        if rule.get("odd") and int(value) % 2 == 0:
            return [self._error(field, "%s is even: it must be odd." % shown, "set %s to an odd number, e.g. 3." % field)]
        return []

    def _length(self, name, field, value, rule):
        lo, hi = rule.get("min_length"), rule.get("max_length")
        if lo is None and isinstance(value, string_types) and (rule.get("pattern") or rule.get("ocid") or rule.get("writable")):
            lo = 1  # a value with a form is never empty unless `empty: true` says it may be
        what = "characters" if isinstance(value, string_types) else "items"
        if lo is not None and len(value) < lo:
            return [self._error(field, "is empty." if not value else "has %d %s, fewer than %d." % (len(value), what, lo),
                                "give %s at least %d %s%s." % (field, lo, what, self._like(rule)))]
        if hi is not None and len(value) > hi:
            return [self._error(field, "has %d %s, more than %d." % (len(value), what, hi), "shorten %s to at most %d %s." % (field, hi, what))]
        return []

    @staticmethod
    def _like(rule):
        pattern = rule.get("pattern")
        return " (%s)" % PATTERNS[pattern][1] if pattern in PATTERNS else ""

    def _string(self, name, field, value, rule):
        if not value:
            return []
        shown = self._show(name, value)
        pattern = rule.get("pattern")
        if pattern:
            regex, like = PATTERNS.get(pattern, (pattern, "the form %s" % pattern))
            if not re.match(regex, value):
                return [self._error(field, "%s is not %s." % (shown, like.split(":")[0].split(", e.g.")[0]), "set %s to %s." % (field, like))]
        if rule.get("ocid"):
            return self._ocid(name, field, value, rule["ocid"])
        if rule.get("writable"):
            return self._writable(field, value, rule["writable"])
        return []

    def _ocid(self, name, field, value, kinds):
        kinds = [kinds] if isinstance(kinds, string_types) else list(kinds)
        try:
            check_ocid(value, field, kinds, region=self.region, shown=self._show(name, value))
        except InputError as exc:
            return [exc.msg]
        return []

    @staticmethod
    def _writable(field, value, kind):
        path = os.path.abspath(os.path.expanduser(value))
        if os.path.exists(path):
            return SpecChecker._existing_writable(field, path, kind)
        parent = os.path.dirname(path)
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            return [InputError("%s is under %s, which is not a directory." % (path, parent), field=field, fix="choose a path under a directory.").msg]
        if not os.access(parent, os.W_OK | os.X_OK):
            return [InputError("%s cannot be created: %s is not writable by this user." % (path, parent), field=field,
                               fix="choose a path under a directory this user can write (e.g. under ~), or fix its permissions.").msg]
        return []

    @staticmethod
    def _existing_writable(field, path, kind):
        if kind == "dir" and not os.path.isdir(path):
            return [InputError("%s exists and is not a directory." % path, field=field, fix="choose a directory path.").msg]
        if kind == "file" and os.path.isdir(path):
            return [InputError("%s is a directory." % path, field=field, fix="give the path of a file in it.").msg]
        if not os.access(path if kind == "dir" else os.path.dirname(path), os.W_OK):
            return [InputError("%s cannot be written by this user." % path, field=field,
                               fix="choose a path this user can write (e.g. under ~), or fix its permissions.").msg]
        return []

    def _seconds_range(self, name, field, value):
        """Seconds, or [min, max] with 0 <= min <= max."""
        items = value if isinstance(value, list) else [value]
        fix = "set %s to seconds >= 0 or [min, max] with min <= max, e.g. [5, 15]." % field
        if not 1 <= len(items) <= 2 or any(isinstance(v, bool) or not isinstance(inventory_number(v), (int, float)) for v in items):
            return [self._error(field, "%s is not seconds or [min, max]." % self._show(name, value), fix)]
        numbers = [inventory_number(v) for v in items]
        if min(numbers) < 0:
            return [self._error(field, "%s is negative." % self._show(name, value), fix)]
        if numbers[0] > numbers[-1]:
            return [self._error(field, "minimum %s is above maximum %s." % (numbers[0], numbers[-1]), fix)]
        return []

    def _rule(self, rule, values, bad_types):
        kind, names = next(iter(rule.items()))
        if any(n in bad_types or values.get(n) is None for n in names):
            return []
        if kind == "le":
            first, second = inventory_number(values[names[0]]), inventory_number(values[names[1]])
            if _numeric(first, second) and first > second:
                return [self._error(names[0], "%s is above %s=%s." % (first, names[1], second),
                                    "set %s at most %s, or raise %s." % (names[0], names[1], names[1]))]
        elif kind == "ge_sum":
            total = [inventory_number(values[n]) for n in names]
            if _numeric(*total) and total[0] and total[0] < sum(total[1:]):
                return [self._error(names[0], "%s is shorter than %s (%s)." % (total[0], " + ".join(names[1:]), sum(total[1:])),
                                    "set %s to at least %s, or 0 for the default." % (names[0], sum(total[1:])))]
        elif kind == "distinct":
            seen = {}
            for name in names:
                value = values[name]
                if value in ("", None):
                    continue
                if value in seen:
                    return [self._error(name, "%r is also %s's value." % (value, seen[value]), "give %s and %s different values." % (seen[value], name))]
                seen[value] = name
        return []


def inventory_number(value):
    """Inventory numbers may arrive as strings ("30"); anything else is returned as it is, for the check to reject."""
    if isinstance(value, string_types):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    return value


def _numeric(*values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def spec_problems(values, options, constraints=None, region=None):
    """Messages for every problem of `values` against `options` (one entry point of argument_specs.yml) and `constraints`."""
    return SpecChecker(options, constraints, region).problems(values)

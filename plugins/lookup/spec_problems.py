# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: spec_problems
short_description: Every problem of a role's variables against its specification
description:
  - Reads the role's C(meta/argument_specs.yml) (types, choices) and C(meta/constraints.yml) (ranges, lengths, patterns,
    OCIDs by resource type and region, writable controller paths, cross-field rules) and checks the values the role's
    variables have for this host.
  - "Returns one message per problem, C(<variable>: <problem> Fix: <fix>); none when every variable is valid. Values of
    C(no_log) options never appear in a message."
options:
  _terms:
    description: The role's directory (C(role_path)).
    required: true
  entry_point:
    description: Entry point of the argument spec whose options are checked.
    type: str
    default: main
  region:
    description: Region every regional OCID must belong to; empty skips that check.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Check every variable against the role's specification
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
    quiet: true
  vars:
    __problems: "{{ query('openedx_scale.oke.spec_problems', role_path) }}"
"""

RETURN = r"""
_raw:
  description: One message per problem.
  type: list
  elements: str
"""

import os  # noqa: E402

from ansible.errors import AnsibleError, AnsibleLookupError  # noqa: E402
from ansible.module_utils.common.text.converters import to_native  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
import yaml  # noqa: E402  (ansible-core requires PyYAML)
from ansible_collections.openedx_scale.oke.plugins.module_utils.spec_constraints import spec_problems  # noqa: E402


def _load(path):
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        entry = self.get_option("entry_point")
        messages = []
        for role_path in terms:
            specs = _load(os.path.join(role_path, "meta", "argument_specs.yml")).get("argument_specs") or {}
            if entry not in specs:
                raise AnsibleLookupError("spec_problems: %s has no entry point %r in meta/argument_specs.yml" % (role_path, entry))
            options = specs[entry].get("options") or {}
            values = {}
            for name in options:
                if name not in (variables or {}):
                    continue
                try:
                    values[name] = self._templar.template(variables[name])
                except AnsibleError as exc:
                    # A default that reads an undefined inventory setting: name the role variable, not a traceback.
                    messages.append("%s: cannot be resolved (%s). Fix: set %s, or the inventory setting its default reads."
                                    % (name, to_native(exc.message if hasattr(exc, "message") else exc).splitlines()[0], name))
            constraints = _load(os.path.join(role_path, "meta", "constraints.yml"))
            messages.extend(spec_problems(values, options, constraints, self.get_option("region")))
        return messages

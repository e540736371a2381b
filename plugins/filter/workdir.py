# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's working directory (openedx_scale_workdir): where every stage writes its files.

Documented in workdir.yml next to this file (ansible-doc -t filter).
"""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

COLLECTIONS_DIR = "ansible_collections"


def workdir(value=""):
    """The absolute working directory: `value`, or $XDG_CACHE_HOME/openedx-scale (~/.cache/openedx-scale) when empty.

    Refuses a directory inside an installed collection tree: `ansible-galaxy collection install` replaces that tree
    and a shared collections path is no place for reports, users or credentials.
    """
    if value is None or not str(value).strip():
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        value = os.path.join(cache, "openedx-scale")
    path = os.path.abspath(os.path.expanduser(str(value)))
    real = os.path.realpath(path)
    for candidate in (path, real):
        if COLLECTIONS_DIR in candidate.split(os.sep):
            raise AnsibleFilterError(
                "openedx_scale_workdir={0}: the working directory is inside an '{1}' tree (an installed collection); "
                "set openedx_scale_workdir to a directory of your own, e.g. ~/.cache/openedx-scale".format(value, COLLECTIONS_DIR))
    return path


class FilterModule(object):
    def filters(self):
        return {"workdir": workdir}

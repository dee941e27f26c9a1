#!/usr/bin/python3
# Drives a Redfish service with Debian's python3-sushy (the library OpenStack Ironic's redfish driver uses), for the
# conformance test of the lab's Redfish BMC (test/interop/redfish-conformance.test.ts). Run with /usr/bin/python3.
#   sushy-client.py URL USER CAFILE OP...      (password in the environment: RF_PASSWORD; CAFILE '-' = no verification)
# OPs, run in order, one JSON value per OP printed as a JSON list:
#   version | power | uuid | serial | macs | firmware | allowed-resets | boot | reset:TYPE | bootset:TARGET:ENABLED:MODE
import json
import os
import sys

import sushy

url, user, cafile, *ops = sys.argv[1:]
s = sushy.Sushy(url, username=user, password=os.environ['RF_PASSWORD'], verify=(False if cafile == '-' else cafile))
system = s.get_system(s.get_system_collection().members_identities[0])
out = []
for op in ops:
    system.refresh()
    if op == 'version':
        out.append(s.redfish_version)
    elif op == 'power':
        out.append(str(system.power_state.value))
    elif op == 'uuid':
        out.append(system.uuid)
    elif op == 'serial':
        out.append(system.serial_number)
    elif op == 'macs':
        out.append(sorted(m.lower() for m in system.ethernet_interfaces.summary.keys()))
    elif op == 'firmware':
        out.append(s.get_manager(s.get_manager_collection().members_identities[0]).firmware_version)
    elif op == 'allowed-resets':
        out.append(sorted(str(v.value) for v in system.get_allowed_reset_system_values()))
    elif op == 'boot':
        b = system.boot
        out.append({'target': b.target and b.target.value, 'enabled': b.enabled and b.enabled.value, 'mode': b.mode and b.mode.value})
    elif op.startswith('reset:'):
        system.reset_system(sushy.ResetType(op.split(':', 1)[1]))
        out.append('ok')
    elif op.startswith('bootset:'):
        _, target, enabled, mode = op.split(':')
        system.set_system_boot_options(sushy.BootSource(target), enabled=sushy.BootSourceOverrideEnabled(enabled), mode=sushy.BootSourceOverrideMode(mode))
        out.append('ok')
    else:
        raise SystemExit(f'unknown op {op}')
print(json.dumps(out))

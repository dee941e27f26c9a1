#!/usr/bin/python3
"""A test BMC built on Debian's python3-pyghmi server classes, with a chosen cipher suite policy.

pyghmi's IpmiServer/ServerSession (pyghmi/ipmi/private/serversession.py) always answer Open Session with
cipher suite 3, whatever was asked, and advertise only suite 3 in Get Channel Cipher Suites. This peer keeps
pyghmi's packet framing, AES and integrity code (pyghmi.ipmi.private.session.Session) and its command
dispatch (pyghmi.ipmi.bmc.Bmc), and replaces only the algorithm choice (IPMI 2.0 section 13.17-13.23,
Table 22-20):

  --suites 0      "cipher-0-only": advertises suite 0 alone; Open Session for any other algorithms gets
                  RMCP+ status 0x11 (no cipher suite match); suite 0 sessions run without authentication,
                  integrity or encryption (the password is not checked at all, as on such BMCs).
  --suites 17,3   HMAC-SHA256 / HMAC-SHA256-128 / AES-CBC-128 and HMAC-SHA1 / HMAC-SHA1-96 / AES-CBC-128,
                  whichever the client proposes; the hashes come from hashlib/hmac, AES from pyghmi.
  --suites 17     suite 17 only.
  --suites stock  pyghmi's own sessions, unchanged: every Open Session is answered with suite 3's algorithms
                  (status 0), whatever the client proposed.

Unknown user names get RAKP 2 status 0x0D and a wrong RAKP 3 auth code gets RAKP 4 status 0x0F (stock pyghmi
stays silent in both cases). Get Device ID follows the spec's 3-byte manufacturer / 2-byte product layout.

Usage: pyghmi-bmc.py --address 127.0.0.1 --port 0 --user admin --suites 17,3   (password in $PYGHMI_BMC_PASSWORD)
Prints "ready PORT" once the UDP socket is bound, then one line per chassis action ("power on", "boot pxe").
Runs until killed.
"""

import argparse
import hashlib
import hmac
import os
import struct
import sys
import uuid

import pyghmi.ipmi.bmc as pyghmi_bmc
import pyghmi.ipmi.private.constants as constants
import pyghmi.ipmi.private.serversession as serversession
import pyghmi.ipmi.private.session as ipmisession

# suite id -> (auth, integrity, confidentiality, hash, integrity check value length)
SUITES = {
    0: (0, 0, 0, None, 0),
    3: (1, 1, 1, hashlib.sha1, 12),
    17: (3, 4, 1, hashlib.sha256, 16),
}
NO_CIPHER_SUITE_MATCH = 0x11
UNAUTHORIZED_NAME = 0x0D
INVALID_INTEGRITY_CHECK_VALUE = 0x0F


def emit(line):
    print(line, flush=True)


class PolicySession(serversession.ServerSession):
    """One RMCP+ session whose algorithms are those the client proposed, if the BMC's policy allows them."""

    suite = None
    established = False

    def create_open_session_response(self, request):
        tag = request[0]
        # A client may open a new session from the same address:port after closing one. Stock pyghmi keeps the
        # old keys here and sends this reply signed and encrypted under the old session; start afresh instead.
        self.established = False
        self.suite = None
        self.integrityalgo = 0
        self.confalgo = 0
        self.k1 = None
        self.sessionid = 0
        self.sequencenumber = 0
        self.__dict__.pop('Rc', None)
        self.clientsessionid = request[4:8]
        proposed = (request[12] & 0x3F, request[20] & 0x3F, request[28] & 0x3F) if len(request) >= 32 else None
        chosen = None
        for sid in self.bmc.suites:
            if SUITES[sid][:3] == proposed:
                chosen = sid
        if chosen is None:
            emit('refused open session %s' % (proposed,))
            return bytearray([tag, NO_CIPHER_SUITE_MATCH, 0, 0]) + self.clientsessionid
        self.suite = SUITES[chosen]
        self.suite_id = chosen
        self.managedsessionid = os.urandom(4)
        self.privlevel = 4
        auth, integ, conf = proposed
        return (bytearray([tag, 0, self.privlevel, 0]) + self.clientsessionid + self.managedsessionid
                + bytearray([0, 0, 0, 8, auth, 0, 0, 0, 1, 0, 0, 8, integ, 0, 0, 0, 2, 0, 0, 8, conf, 0, 0, 0]))

    def _got_rakp1(self, data):
        if self.suite is None or len(data) < 28:
            return
        tag = data[0]
        self.Rm = bytes(data[8:24])
        self.rolem = data[24]
        self.maxpriv = self.rolem & 0b111
        self.username = bytes(data[28:28 + data[27]])
        name = self.username.decode('utf-8', 'replace')
        if not self.username or name not in self.authdata:
            emit('unknown user %s' % name)
            self.send_payload(bytearray([tag, UNAUTHORIZED_NAME, 0, 0]) + self.clientsessionid,
                              constants.payload_types['rakp2'], retry=False)
            return
        self.uuiddata = self.uuid.bytes
        self.Rc = os.urandom(16)
        self.kuid = self.authdata[name].encode('utf-8')
        digest = self.suite[3]
        code = b''
        if digest is not None:
            signed = (bytes(self.clientsessionid) + bytes(self.managedsessionid) + self.Rm + self.Rc
                      + self.uuiddata + bytes([self.rolem, len(self.username)]) + self.username)
            code = hmac.new(self.kuid, signed, digest).digest()
        self.send_payload(bytearray([tag, 0, 0, 0]) + self.clientsessionid + self.Rc + self.uuiddata + code,
                          constants.payload_types['rakp2'], retry=False)

    def _got_rakp3(self, data):
        if self.suite is None or not hasattr(self, 'Rc') or len(data) < 8 or data[1] != 0:
            return
        tag = data[0]
        digest, icvlen = self.suite[3], self.suite[4]
        icv = b''
        if digest is not None:
            role_name = bytes([self.rolem, len(self.username)]) + self.username
            expected = hmac.new(self.kuid, self.Rc + bytes(self.clientsessionid) + role_name, digest).digest()
            if not hmac.compare_digest(expected, bytes(data[8:])):
                emit('bad rakp3')
                self.send_payload(bytearray([tag, INVALID_INTEGRITY_CHECK_VALUE, 0, 0]) + self.clientsessionid,
                                  constants.payload_types['rakp4'], retry=False)
                return
            kg = self.kg if self.kg is not None else self.kuid
            self.sik = hmac.new(kg, self.Rm + self.Rc + role_name, digest).digest()
            self.k1 = hmac.new(self.sik, b'\x01' * 20, digest).digest()
            self.aeskey = hmac.new(self.sik, b'\x02' * 20, digest).digest()[:16]
            icv = hmac.new(self.sik, self.Rm + bytes(self.managedsessionid) + self.uuiddata,
                           digest).digest()[:icvlen]
        self.localsid = struct.unpack('<I', bytes(self.managedsessionid))[0]
        self.ipmicallback = self.handle_client_request
        self.send_payload(bytearray([tag, 0, 0, 0]) + self.clientsessionid + icv,
                          constants.payload_types['rakp4'], retry=False)
        # from here on pyghmi's Session frames, signs and encrypts with these
        self.currhashlib = digest
        self.currhashlen = icvlen
        self.integrityalgo = 'hmac' if digest is not None else 0
        self.confalgo = 'aes' if self.suite[2] == 1 else 0
        self.sequencenumber = 1
        self.sessionid = struct.unpack('<I', bytes(self.clientsessionid))[0]
        self.established = True
        emit('session suite %d' % self.suite_id)

    def _handle_ipmi2_packet(self, data):
        # pyghmi's Session drops IPMI payloads without an auth code; a suite 0 session has none.
        if self.established and self.suite[3] is None and (data[5] & 0x3F) == 0:
            if data[5] & 0xC0 or len(data) < 16:
                return None
            if struct.unpack('<I', bytes(data[6:10]))[0] != self.localsid:
                return None
            size = data[14] | (data[15] << 8)
            self._parse_ipmi_payload(bytearray(data[16:16 + size]))
            return None
        return super()._handle_ipmi2_packet(data)


class PolicyBmc(pyghmi_bmc.Bmc):
    """pyghmi's Bmc with a cipher suite policy, a chassis kept in memory and a spec-shaped Get Device ID."""

    def __init__(self, authdata, port, address, suites, guid):
        super().__init__(authdata, port=port, bmcuuid=guid, address=address)
        self.port = self.serversocket.getsockname()[1]
        self.suites = suites
        self.powerstate = 'off'
        self.bootdevice = 'default'
        self.deviceid = 0x20
        self.revision = 0x01
        self.firmwaremajor = 2
        self.firmwareminor = 0x17
        self.ipmiversion = 0x02
        self.mfgid = 0x00A2B3
        self.prodid = 0x1234

    def sessionless_data(self, data, sockaddr):
        raw = bytearray(data)
        if self.suites is not None and len(raw) >= 22 and raw[0] == 6 and raw[2:4] == b'\xff\x07' and raw[4] == 6 and (raw[5] & 0x3F) == 0x10:
            PolicySession(self.authdata, self.kg, sockaddr, self.serversocket, raw[16:], self.uuid, bmc=self)
            return
        super().sessionless_data(data, sockaddr)

    def cipher_suite_records(self, index):
        # Get Channel Cipher Suites (section 22.15): records C0h id auth 40h|integrity 80h|conf, 16 bytes per index
        records = bytearray()
        for sid in self.suites:
            a, i, c = SUITES[sid][:3]
            records += bytearray([0xC0, sid, a, 0x40 | i, 0x80 | c])
        return records[index * 16:index * 16 + 16]

    def send_cipher_suites(self, myaddr, mylun, clientaddr, clientlun, clientseq, data, sockaddr):
        if self.suites is None:
            return super().send_cipher_suites(myaddr, mylun, clientaddr, clientlun, clientseq, data, sockaddr)
        index = data[22] & 0x3F if len(data) > 22 else 0
        body = bytearray([myaddr, mylun | (clientseq << 2), 0x54, 0, 1]) + self.cipher_suite_records(index)
        head = bytearray([clientaddr, (0x07 << 2) | clientlun])
        msg = head + bytearray([ipmisession._checksum(*head)]) + body + bytearray([ipmisession._checksum(*body)])
        pkt = bytearray(b'\x06\x00\xff\x07\x06\x00') + bytearray(8) + struct.pack('<H', len(msg)) + msg
        ipmisession._io_sendto(self.serversocket, pkt, sockaddr)

    def send_device_id(self, session):
        session.send_ipmi_response(data=[self.deviceid, self.revision, self.firmwaremajor, self.firmwareminor,
                                         self.ipmiversion, 0]
                                   + list(struct.pack('<I', self.mfgid)[:3]) + list(struct.pack('<H', self.prodid)))

    def handle_raw_request(self, request, session):
        if request['netfn'] == 6 and request['command'] == 0x37:  # Get System GUID
            return session.send_ipmi_response(data=list(self.uuid.bytes))
        if request['netfn'] == 6 and request['command'] == 0x54 and self.suites is not None and len(request['data']) >= 3:
            return session.send_ipmi_response(data=[1] + list(self.cipher_suite_records(request['data'][2] & 0x3F)))
        return super().handle_raw_request(request, session)

    def get_power_state(self):
        return self.powerstate

    def power_on(self):
        self.powerstate = 'on'
        emit('power on')

    def power_off(self):
        self.powerstate = 'off'
        emit('power off')

    def power_shutdown(self):
        self.powerstate = 'off'
        emit('power soft')

    def power_cycle(self):
        self.powerstate = 'on'
        emit('power cycle')

    def power_reset(self):
        emit('power reset')

    def get_boot_device(self):
        return self.bootdevice

    def set_boot_device(self, bootdevice):
        self.bootdevice = bootdevice
        emit('boot %s' % bootdevice)

    def is_active(self):
        return self.powerstate == 'on'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--address', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0, help='UDP port; 0 = any free one (printed)')
    p.add_argument('--user', default='admin')
    p.add_argument('--suites', default='17,3', help='accepted cipher suites, in preference order: 0, 3, 17; or "stock"')
    p.add_argument('--guid', default=None, help='system GUID as a UUID string (default: random)')
    a = p.parse_args()
    suites = None if a.suites == 'stock' else [int(s) for s in a.suites.split(',') if s.isdigit()]
    if suites is not None and (not suites or any(s not in SUITES for s in suites)):
        p.error('--suites takes 0, 3 and/or 17, or "stock"')
    password = os.environ.get('PYGHMI_BMC_PASSWORD')
    if password is None:
        p.error('set PYGHMI_BMC_PASSWORD')
    guid = uuid.UUID(a.guid) if a.guid else None
    bmc = PolicyBmc({a.user: password}, a.port, a.address, suites, guid)
    emit('ready %d' % bmc.port)
    while True:
        ipmisession.Session.wait_for_rsp(timeout=30)


if __name__ == '__main__':
    sys.exit(main())

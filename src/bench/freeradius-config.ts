/**
 * A complete FreeRADIUS 3.2 configuration for the benchmark, written into a temporary directory
 * and run with `freeradius -f -d DIR`: one client (the load generator on loopback), the `eap`
 * module with EAP-TLS and PEAP (inner EAP-MSCHAPv2 against one account), the same certificate
 * files as Gangway and hostapd, no TLS session cache (neither of the others resumes), no
 * reject delay and no per-request logging (either would be measured as server CPU).
 *
 * FreeRADIUS 3.2 (Debian 12's 3.2.1) has no TEAP; PEAP-MSCHAPv2 is its password-in-tunnel method.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FreeradiusBenchConfig {
  /** The directory to write into (it must exist); also FreeRADIUS's raddbdir. */
  dir: string;
  port: number;
  /** Secret of the load generator at 127.0.0.1. */
  secret: string;
  /** FreeRADIUS's module directory (Debian: /usr/lib/freeradius). */
  libdir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** The PEAP account (phase 2). */
  user: { name: string; password: string };
  /** TLS octets per EAP fragment (hostapd's fragment_size 1398, Gangway's packetSize 1400). */
  fragmentSize: number;
}

/** Values go inside double quotes in unlang; the bench's own are base64url and paths. */
function quoted(s: string): string {
  if (/["\\\n\r]/.test(s)) throw new Error(`FreeRADIUS configuration value ${JSON.stringify(s)} needs escaping the bench does not do`);
  return `"${s}"`;
}

export function writeFreeradiusConfig(c: FreeradiusBenchConfig): void {
  const run = join(c.dir, 'run');
  mkdirSync(run, { recursive: true });
  const radiusd = `# gangway bench: FreeRADIUS as a reference EAP server (src/bench/freeradius-config.ts)
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = ${c.dir}
confdir = \${raddbdir}
modconfdir = \${confdir}
run_dir = ${run}
logdir = ${run}
db_dir = ${run}
libdir = ${c.libdir}
pidfile = \${run_dir}/freeradius.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no

log {
	destination = stderr
	colourise = no
	auth = no
	auth_badpass = no
	auth_goodpass = no
}

security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}

# A pool as big as Debian's default: FreeRADIUS may use both cores, as the others may.
thread pool {
	start_servers = 5
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 10
	max_requests_per_server = 0
}

client bench {
	ipaddr = 127.0.0.1
	secret = ${quoted(c.secret)}
	require_message_authenticator = yes
}

modules {
	always ok {
		rcode = ok
	}

	mschap {
		use_mppe = yes
	}

	eap {
		default_eap_type = tls
		timer_expire = 60
		ignore_unknown_eap_types = no
		max_sessions = 65536

		tls-config tls-common {
			private_key_file = ${c.serverKey}
			certificate_file = ${c.serverCert}
			ca_file = ${c.caCert}
			fragment_size = ${c.fragmentSize}
			cipher_list = "DEFAULT"
			ecdh_curve = "prime256v1"
			tls_min_version = "1.2"
			tls_max_version = "1.3"
			cache {
				enable = no
			}
		}

		tls {
			tls = tls-common
		}

		peap {
			tls = tls-common
			default_eap_type = mschapv2
			copy_request_to_tunnel = no
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}

		mschapv2 {
		}
	}
}

instantiate {
}

policy {
}

server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = ${c.port}
	}
	authorize {
		# Status-Server (security.status_server): the bench's readiness check.
		Autz-Type Status-Server {
			ok
		}
		eap {
			ok = return
		}
	}
	authenticate {
		eap
	}
	post-auth {
		ok
	}
}

server inner-tunnel {
	authorize {
		if (&User-Name == ${quoted(c.user.name)}) {
			update control {
				&Cleartext-Password := ${quoted(c.user.password)}
			}
		}
		eap {
			ok = return
		}
	}
	authenticate {
		Auth-Type MS-CHAP {
			mschap
		}
		eap
	}
	post-auth {
		ok
	}
}
`;
  writeFileSync(join(c.dir, 'radiusd.conf'), radiusd, { mode: 0o600 });
}

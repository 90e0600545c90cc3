#!/bin/sh
# Installs the built agent (dist/ from `npm run build`) with its systemd unit, an initial
# configuration and udev rules. Run as root on the device, or with --root to lay the files into
# a directory (an image being prepared, a package build) without touching the running system.
set -eu

MIN_NODE_MAJOR=20
MIN_NODE_MINOR=19
PASSWORD_FILE=/etc/iot-agent/xmpp-password

usage() {
  cat <<EOF
Usage: scripts/install.sh [--root DIR] [--prefix DIR]

  --root DIR     install below DIR instead of / (lays files and users there: no systemctl, no udevadm)
  --prefix DIR   where the bundle goes, as seen on the target (default /opt/iot-agent)

Installs:
  PREFIX/iot-agent.mjs, PREFIX/node_modules   the agent and its native serial binding
  /usr/local/bin/iot-agent                    a link to the agent
  /etc/systemd/system/iot-agent.service       the hardened service unit
  /usr/lib/sysusers.d/iot-agent.conf          the iot-agent system user, created with systemd-sysusers
  /etc/iot-agent/agent.yaml                   from config/agent.example.yaml, only if absent
  /etc/iot-agent/xmpp-password                empty, only if absent (both owned by iot-agent, 0600)
  /etc/udev/rules.d/99-iot-agent-serial.rules /dev/iot-agent-device for known boards, if absent
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

usage_error() {
  echo "install.sh: $*" >&2
  usage >&2
  exit 2
}

ROOT=/
PREFIX=/opt/iot-agent
while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || usage_error "--root needs a directory"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --prefix) [ $# -ge 2 ] || usage_error "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

# Paths end up in the unit file and in sed expressions: plain absolute paths only.
check_path() {
  case $2 in
    /*) ;;
    *) usage_error "$1 $2: expected an absolute path" ;;
  esac
  case $2 in
    *[!A-Za-z0-9/._-]*) usage_error "$1 $2: expected only letters, digits and / . _ -" ;;
  esac
}
check_path --root "$ROOT"
check_path --prefix "$PREFIX"
[ "$PREFIX" != / ] || usage_error "--prefix /: expected a directory of its own"
PREFIX=${PREFIX%/}
if [ "$ROOT" = / ]; then DEST=""; else DEST=${ROOT%/}; fi
[ -z "$DEST" ] || [ -d "$DEST" ] || die "--root $ROOT: no such directory"

HERE=$(cd "$(dirname "$0")/.." && pwd)
DIST=$HERE/dist
if [ ! -f "$DIST/iot-agent.mjs" ] || [ ! -d "$DIST/node_modules/@serialport/bindings-cpp" ]; then
  die "$DIST has no built agent (iot-agent.mjs and node_modules/): run 'npm run build' first"
fi

# The node the service will run: the one on PATH here, checked for the version the agent needs.
NODE=$(command -v node) || die "node not found on PATH: install Node.js $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer"
case $NODE in
  /*) ;;
  *) die "node on PATH is '$NODE', not a file: expected an absolute path" ;;
esac
NODE_VERSION=$("$NODE" -p process.versions.node) || die "$NODE does not run"
major=${NODE_VERSION%%.*}
rest=${NODE_VERSION#*.}
minor=${rest%%.*}
if [ "$major" -lt "$MIN_NODE_MAJOR" ] ||
  { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -lt "$MIN_NODE_MINOR" ]; }; then
  die "$NODE is Node.js $NODE_VERSION; the agent needs $MIN_NODE_MAJOR.$MIN_NODE_MINOR or newer"
fi
case $NODE in
  /home/* | /root/*) echo "install.sh: warning: $NODE is under a home directory, which the service cannot see (ProtectHome=yes); install node system-wide" >&2 ;;
esac

# The bundle: a fresh copy swapped in whole, so a running agent never sees half an upgrade.
TARGET=$DEST$PREFIX
mkdir -p "$(dirname "$TARGET")"
rm -rf "$TARGET.new" "$TARGET.old"
cp -R "$DIST" "$TARGET.new"
chmod -R u=rwX,go=rX "$TARGET.new"
chmod 0755 "$TARGET.new/iot-agent.mjs"
if [ -e "$TARGET" ]; then mv "$TARGET" "$TARGET.old"; fi
mv "$TARGET.new" "$TARGET"
rm -rf "$TARGET.old"

# Relative, so the link also resolves inside a --root tree.
mkdir -p "$DEST/usr/local/bin"
ln -sfn "../../..$PREFIX/iot-agent.mjs" "$DEST/usr/local/bin/iot-agent"

mkdir -p "$DEST/etc/systemd/system"
sed -e "s|^ExecStart=/usr/bin/node /opt/iot-agent/|ExecStart=$NODE $PREFIX/|" \
  "$HERE/config/iot-agent.service" >"$DEST/etc/systemd/system/iot-agent.service.new"
grep -q "^ExecStart=$NODE $PREFIX/iot-agent.mjs " "$DEST/etc/systemd/system/iot-agent.service.new" ||
  die "config/iot-agent.service: expected an ExecStart=/usr/bin/node /opt/iot-agent/... line"
chmod 0644 "$DEST/etc/systemd/system/iot-agent.service.new"
mv "$DEST/etc/systemd/system/iot-agent.service.new" "$DEST/etc/systemd/system/iot-agent.service"

# The service's own user, declared for systemd-sysusers and created now (in DIR's /etc/passwd
# with --root), so that the configuration can belong to it.
command -v systemd-sysusers >/dev/null 2>&1 || die "systemd-sysusers not found: the agent's service needs systemd"
mkdir -p "$DEST/usr/lib/sysusers.d"
cp "$HERE/config/iot-agent.sysusers" "$DEST/usr/lib/sysusers.d/iot-agent.conf"
chmod 0644 "$DEST/usr/lib/sysusers.d/iot-agent.conf"
systemd-sysusers --root="${DEST:-/}" "$DEST/usr/lib/sysusers.d/iot-agent.conf" ||
  die "systemd-sysusers could not create the iot-agent user"
IDS=$(awk -F: '$1 == "iot-agent" { print $3 ":" $4 }' "$DEST/etc/passwd")
[ -n "$IDS" ] || die "$DEST/etc/passwd has no iot-agent user after systemd-sysusers"

# The configuration is the user's once it exists: never replaced. A new one reads the password
# from the password file below and the port the udev rules name.
mkdir -p "$DEST/etc/iot-agent"
# root owns the directory (the service cannot add files to it); the service's group may enter it.
chown "0:${IDS#*:}" "$DEST/etc/iot-agent"
chmod 0750 "$DEST/etc/iot-agent"
CONFIG=$DEST/etc/iot-agent/agent.yaml
if [ -e "$CONFIG" ]; then
  CONFIG_NOTE="kept the existing /etc/iot-agent/agent.yaml"
else
  sed -e "s|password: { env: IOT_AGENT_XMPP_PASSWORD }|password: { file: $PASSWORD_FILE }|" \
    -e "s|^  port: /dev/ttyACM0$|  port: /dev/iot-agent-device|" \
    "$HERE/config/agent.example.yaml" >"$CONFIG.new"
  if ! grep -q "password: { file: $PASSWORD_FILE }" "$CONFIG.new" ||
    ! grep -q "^  port: /dev/iot-agent-device$" "$CONFIG.new"; then
    rm -f "$CONFIG.new"
    die "config/agent.example.yaml: expected its password and port lines, found them changed"
  fi
  chmod 0600 "$CONFIG.new"
  mv "$CONFIG.new" "$CONFIG"
  CONFIG_NOTE="installed /etc/iot-agent/agent.yaml (mode 0600): edit it"
fi
# The password file, empty until the owner fills it in (the agent refuses an empty one).
PASSWORD=$DEST$PASSWORD_FILE
[ -e "$PASSWORD" ] || : >"$PASSWORD"
# Readable by the service alone, on every run: files restored as root stay usable.
chown "$IDS" "$CONFIG" "$PASSWORD"
chmod 0600 "$CONFIG" "$PASSWORD"

RULES=$DEST/etc/udev/rules.d/99-iot-agent-serial.rules
mkdir -p "$(dirname "$RULES")"
if [ -e "$RULES" ]; then
  RULES_NOTE="kept the existing /etc/udev/rules.d/99-iot-agent-serial.rules"
else
  cp "$HERE/config/99-iot-agent-serial.rules" "$RULES"
  chmod 0644 "$RULES"
  RULES_NOTE="installed /etc/udev/rules.d/99-iot-agent-serial.rules"
fi

echo "installed xmpp-iot-agent to ${DEST:-/}: $PREFIX (Node.js $NODE_VERSION at $NODE)"
echo "  $CONFIG_NOTE"
echo "  $RULES_NOTE"
if [ -n "$DEST" ]; then
  echo "files laid below $DEST only; on the target run: systemctl daemon-reload"
  exit 0
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
if command -v udevadm >/dev/null 2>&1; then
  udevadm control --reload || echo "install.sh: warning: udevadm control --reload failed" >&2
fi
cat <<EOF

Next steps:
  1. The XMPP password: sudoedit /etc/iot-agent/xmpp-password
  2. Edit /etc/iot-agent/agent.yaml: xmpp.service, domain, username, access.allow, telemetry;
     check it with: iot-agent check-config /etc/iot-agent/agent.yaml
  3. The board: udevadm info --attribute-walk --name=/dev/ttyACM0 | grep -m2 -E 'idVendor|idProduct',
     then check its line in /etc/udev/rules.d/99-iot-agent-serial.rules and replug it.
  4. Start it: systemctl enable --now iot-agent && journalctl -u iot-agent -f
     After editing agent.yaml: systemctl reload iot-agent (access.allow, telemetry.subscribers and
     log.level change at once; the journal says what else needs systemctl restart iot-agent).
EOF

# SPDX-License-Identifier: GPL-2.0-or-later
# tests/packaging/guest-image.sh: sourced by the tests that boot a Debian 12 image with
# systemd as init (systemd-check, image-check). Set before sourcing: PROG (the test's name,
# for messages). It sets top, vm, cache, suite, work, run and qemu_pid, the EXIT trap that
# stops the guest and removes $work (kept with QGATRACE_VM_KEEP=1), and defines:
#   skip REASON                 exit 77 with REASON
#   guest_base NAME INCLUDE     the debootstrap --variant=minbase tarball with INCLUDE
#                               (comma-separated packages), made once and cached in $cache
#   guest_kernel DEB            $work/image/vmlinuz and $work/initrd.img: the harness's
#                               kernel and virtio modules, and an /init that switch_roots
#                               to systemd on /dev/vda; DEB unpacked in $work/debroot
#   guest_test_shell ROOT       a test shell service on org.qgatrace.test.0, fstab with the
#                               data disk on /mnt/data, no getty, no timesyncd
#   guest_mkfs ROOT IMAGE       a 1 GiB raw ext4 disk of ROOT
#   guest_boot IMAGE            boots IMAGE (raw) under QEMU with the agent's port, the test
#                               shell's, QMP and a fresh data disk; the guest goes with $$
#   guest_wait_booted           waits for the test shell; prints "ok   booted ..."
#   guest_expect_agent_started  the agent's unit active, started by udev, the packaged binary
#   ok, fail, expect NAME PATTERN OUTPUT, gsh CMD [TIMEOUT], qga REQUEST [WAIT], qmp CMD
# The image's mirror is the first Debian one of this machine's apt sources.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm=$top/tests/vm/qgatrace-vm
cache=${QGATRACE_VM_CACHE:-${HOME:-/tmp}/.cache/qgatrace-vm}
suite=bookworm

skip() {
	echo "$PROG: SKIP: $*" >&2
	exit 77
}
[[ $EUID -eq 0 ]] || skip "needs root (debootstrap, chroot, mkfs.ext4 -d with owners)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
command -v socat >/dev/null || skip "no socat"
PATH=$PATH:/usr/sbin:/sbin
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"

work=$(mktemp -d "${TMPDIR:-/tmp}/qgatrace-$PROG.XXXXXX")
run=$work/run
mkdir -p "$run"
qemu_pid=
cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		sleep 1
		kill -9 "$qemu_pid" 2>/dev/null || true
	fi
	if [[ ${QGATRACE_VM_KEEP:-} == 1 ]]; then
		echo "$PROG: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

passed=0
failed=0
ok() {
	echo "ok   $*"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}
expect() { # expect NAME PATTERN OUTPUT
	if grep -qE -- "$2" <<<"$3"; then
		ok "$1"
	else
		fail "$1"
		printf '     got: %s\n' "$3" | head -n 20
	fi
}
gsh() { "$vm" shell --run "$run" --timeout "${2:-30}" "$1"; }
qga() { # the 0xFF + guest-sync-delimited handshake, then REQUEST; prints the replies
	local request=$1 wait=${2:-3}
	{
		printf '\xff{"execute":"guest-sync-delimited","arguments":{"id":%d}}\n%s\n' "$RANDOM" "$request"
		sleep "$wait"
	} | socat -t 1 - "UNIX-CONNECT:$run/qgatrace.sock" | tr -d '\377'
}
qmp() {
	{
		printf '{"execute":"qmp_capabilities"}\n%s\n' "$1"
		sleep 1
	} | socat -t 1 - "UNIX-CONNECT:$run/qmp.sock"
}

mirror_url() {
	# the first Debian mirror of this machine's apt sources (deb822 or one-line format)
	local url
	url=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v -- '-security' | head -n1)
	[[ -n $url ]] || url=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) .*/\2/p' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list 2>/dev/null | grep -v -- '-security' | head -n1)
	echo "$url"
}

guest_base() { # NAME INCLUDE: prints the cached tarball's path, made once
	local base=$cache/debootstrap-$suite-$1.tar.gz include=$2 mirror
	if [[ ! -s $base ]]; then
		if ! command -v debootstrap >/dev/null; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
				>"$work/apt.log" 2>&1 || skip "debootstrap is missing and apt-get cannot install it"
		fi
		mirror=$(mirror_url)
		[[ -n $mirror ]] || skip "no Debian mirror in the apt sources"
		echo "$PROG: debootstrap $suite (once; cached in $base)" >&2
		if ! debootstrap --variant=minbase --include="$include" "$suite" "$work/base" "$mirror" \
			>"$work/debootstrap.log" 2>&1; then
			tail -n 5 "$work/debootstrap.log" >&2
			skip "debootstrap failed (no network to the mirror?)"
		fi
		rm -rf "$work/base/var/cache/apt/archives"/*.deb "$work/base/var/lib/apt/lists"/*_Packages
		mkdir -p "$cache"
		tar -C "$work/base" --numeric-owner -czf "$base.tmp" .
		mv -f "$base.tmp" "$base"
		rm -rf "$work/base"
	fi
	echo "$base"
}

guest_kernel() { # DEB
	local status=0
	dpkg-deb -x "$1" "$work/debroot"
	"$vm" build --out "$work/image" --agent "$work/debroot/usr/sbin/qgatrace-agent" \
		>"$work/build.log" 2>&1 || status=$?
	if [[ $status -eq 77 ]]; then
		tail -n 3 "$work/build.log"
		exit 77
	elif [[ $status -ne 0 ]]; then
		cat "$work/build.log"
		exit 1
	fi
	# a second cpio after the harness's: its /init replaces the harness's
	mkdir -p "$work/overlay"
	cat >"$work/overlay/init" <<'INIT'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
while read -r mod; do
	insmod "/lib/modules/qgatrace/$mod.ko" || echo "guest-image: insmod '$mod' failed"
done </etc/qgatrace-vm/modules
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || { echo "guest-image: cannot mount /dev/vda"; poweroff -f; }
umount /sys /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
INIT
	chmod 0755 "$work/overlay/init"
	(cd "$work/overlay" && echo init | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$work/overlay.cpio.gz"
	cat "$work/image/initramfs.img" "$work/overlay.cpio.gz" >"$work/initrd.img"
}

guest_test_shell() { # ROOT
	local root=$1
	echo "qgatrace-sd" >"$root/etc/hostname"
	printf '/dev/vda / ext4 defaults 0 1\n/dev/vdb /mnt/data ext4 defaults,nofail 0 2\n' >"$root/etc/fstab"
	mkdir -p "$root/mnt/data"
	cat >"$root/usr/local/sbin/test-shelld" <<'SHELLD'
#!/bin/sh
# one command line in on org.qgatrace.test.0, its output and '@@QGATRACE-EXIT <status>@@' out
# (the harness's protocol, so that "qgatrace-vm shell" drives it)
port=/dev/virtio-ports/org.qgatrace.test.0
exec 3<>"$port"
while :; do
	if ! IFS= read -r line <&3; then
		sleep 0.2
		continue
	fi
	[ -n "$line" ] || continue
	sh -c "$line" </dev/null >/run/test-shelld.out 2>&1 3>&-
	status=$?
	{
		cat /run/test-shelld.out
		[ -z "$(tail -c1 /run/test-shelld.out)" ] || echo
		echo "@@QGATRACE-EXIT $status@@"
	} >&3
done
SHELLD
	chmod 0755 "$root/usr/local/sbin/test-shelld"
	cat >"$root/etc/systemd/system/test-shelld.service" <<'UNIT'
[Unit]
Description=qgatrace test shell on org.qgatrace.test.0
After=dev-virtio\x2dports-org.qgatrace.test.0.device
Requires=dev-virtio\x2dports-org.qgatrace.test.0.device
[Service]
ExecStart=/usr/local/sbin/test-shelld
[Install]
WantedBy=multi-user.target
UNIT
	ln -s /etc/systemd/system/test-shelld.service "$root/etc/systemd/system/multi-user.target.wants/test-shelld.service"
	# fast and quiet: no getty on the console, no waiting for the network
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
	ln -sf /dev/null "$root/etc/systemd/system/getty@tty1.service"
	ln -sf /dev/null "$root/etc/systemd/system/systemd-timesyncd.service"
}

guest_mkfs() { # ROOT IMAGE
	truncate -s 1G "$2"
	mkfs.ext4 -q -F -d "$1" "$2" >"$work/mkfs.log" 2>&1 ||
		{ cat "$work/mkfs.log"; echo "FAIL mkfs.ext4 -d"; exit 1; }
}

guest_boot() { # IMAGE
	local accel=${QGATRACE_VM_ACCEL:-tcg}
	truncate -s 64M "$run/data.img"
	mkfs.ext4 -q -F -L qgatrace-data "$run/data.img"
	qemu-system-x86_64 -name qgatrace-sd -accel "$accel" -m 768 -smp 1 -nodefaults -no-user-config \
		-display none -no-reboot \
		-kernel "$work/image/vmlinuz" -initrd "$work/initrd.img" \
		-append "console=ttyS0 panic=-1 loglevel=5 rw systemd.show_status=1" \
		-chardev "file,id=console,path=$run/console.log" -serial chardev:console \
		-device virtio-serial-pci,id=vser0 \
		-chardev "socket,id=qgatrace,path=$run/qgatrace.sock,server=on,wait=off" \
		-device virtserialport,bus=vser0.0,chardev=qgatrace,name=org.qgatrace.0,id=qgtport \
		-chardev "socket,id=shell,path=$run/shell.sock,server=on,wait=off" \
		-device virtserialport,bus=vser0.0,chardev=shell,name=org.qgatrace.test.0 \
		-chardev "socket,id=qmp,path=$run/qmp.sock,server=on,wait=off" -mon chardev=qmp,mode=control \
		-drive "file=$1,if=none,id=root,format=raw,cache=unsafe" -device virtio-blk-pci,drive=root \
		-drive "file=$run/data.img,if=none,id=data,format=raw,cache=writeback" \
		-device virtio-blk-pci,drive=data,serial=qgatrace-data \
		-pidfile "$run/qemu.pid" -daemonize </dev/null >"$run/qemu.log" 2>&1 ||
		{ cat "$run/qemu.log"; exit 1; }
	qemu_pid=$(cat "$run/qemu.pid")
	# the harness's watchdog, by hand: the guest goes with this script
	(
		while kill -0 $$ 2>/dev/null && kill -0 "$qemu_pid" 2>/dev/null; do sleep 1; done
		kill "$qemu_pid" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	disown
}

guest_wait_booted() {
	local booted= out
	for _ in $(seq 1 90); do
		if out=$(gsh 'systemctl is-system-running --wait 2>/dev/null; true' 10 2>/dev/null); then
			booted=$out
			break
		fi
		kill -0 "$qemu_pid" 2>/dev/null || break
		sleep 2
	done
	if [[ -z $booted ]]; then
		echo "FAIL the guest did not boot to its test shell"
		tail -n 40 "$run/console.log"
		exit 1
	fi
	ok "booted with systemd ($booted)"
}

guest_expect_agent_started() {
	local out
	out=$(gsh 'for i in $(seq 1 30); do systemctl is-active -q qgatrace-agent && break; sleep 1; done; systemctl is-active qgatrace-agent; systemctl show -p WantedBy --value qgatrace-agent.service')
	expect "qgatrace-agent.service started by itself" '^active$' "$out"
	# the device unit is named after its sysfs path; dev-virtio\x2dports-org.qgatrace.0.device is its alias
	expect "... wanted by the port's device unit (udev SYSTEMD_WANTS)" 'x2dports-(vport|org\.qgatrace)' "$out"
	out=$(gsh 'tr "\0" " " </proc/$(systemctl show -p MainPID --value qgatrace-agent)/cmdline')
	expect "... running the packaged /usr/sbin/qgatrace-agent" '^/usr/sbin/qgatrace-agent --method=virtio-serial' "$out"
}

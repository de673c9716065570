#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs qgatrace-agent from this folder, with no network: apt-get install of the .deb
# files here, less those whose package the system already has at the same or a newer
# version (apt would refuse to downgrade it). --fix-broken: it also completes an install
# that dpkg -i left unconfigured ("iU"), which apt otherwise refuses to touch. See INSTALL.
set -e
cd "$(dirname "$0")"
set --
for deb in ./*.deb; do
	pkg=$(dpkg-deb -f "$deb" Package)
	ver=$(dpkg-deb -f "$deb" Version)
	have=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$pkg" 2>/dev/null || true)
	case $have in
	"ii "*)
		if dpkg --compare-versions "${have##* }" ge "$ver"; then
			echo "install.sh: $pkg $ver: ${have##* } is installed, keeping it"
			continue
		fi
		;;
	esac
	set -- "$@" "$deb"
done
[ $# -gt 0 ] || { echo "install.sh: everything is installed already"; exit 0; }
DEBIAN_FRONTEND=noninteractive exec apt-get install -y --fix-broken --no-install-recommends "$@"

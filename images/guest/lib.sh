# /lib/labguest.sh — shell functions shared by /init and the hotplug handler (busybox sh).

# netup IFACE: bring IFACE up and address it like the kernel command line asks:
#   eth0 <- guestip=,  ethN <- guestipN=   (values: A.B.C.D/NN | dhcp | none; default dhcp)
#   guestgw=A.B.C.D adds a default route when eth0 is static.
# DHCP is busybox udhcpc with a bounded wait: 6 discovers 1 s apart, then it goes on trying in
# the background (-b; every 5 s) so a late server still counts. 6 s because libvirt's dnsmasq
# pings an address for up to 3 s before offering it (unless the network sets dnsmasq no-ping).
# The lease is not renewed (-q: test guests live minutes, leases last an hour).
netup() {
  dev=$1
  idx=${dev#eth}
  case $idx in ''|*[!0-9]*) return 0 ;; esac     # only ethN
  if [ "$idx" = 0 ]; then var=guestip; else var=guestip$idx; fi
  eval addr=\${$var:-}
  ip link set "$dev" up
  case $addr in
    none|off) ;;
    ''|dhcp)
      udhcpc -i "$dev" -b -q -t 6 -T 1 -A 5 -x hostname:"$(hostname)" -s /etc/udhcpc.script \
        >"/run/udhcpc.$dev.log" 2>&1 ;;
    *)
      ip addr add "$addr" dev "$dev"
      [ "$idx" = 0 ] && [ -n "${guestgw:-}" ] && ip route add default via "$guestgw" dev "$dev"
      ;;
  esac
  return 0
}

# cpu_online PATH: online a CPU that was just hot-added (what udev's rule does on a distro);
# a CPU offlined on purpose later is left alone because only "add" events call this.
cpu_online() {
  f=$1/online
  [ -w "$f" ] || return 0
  read v < "$f"
  [ "$v" = 0 ] && echo 1 > "$f"
  return 0
}

# mem_online PATH: online a hot-added memory block (DIMM hotplug; the balloon needs nothing).
mem_online() {
  f=$1/state
  [ -w "$f" ] || return 0
  read v < "$f"
  [ "$v" = offline ] && echo online > "$f"
  return 0
}

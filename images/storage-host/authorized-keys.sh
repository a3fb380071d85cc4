#!/bin/sh
# sshd AuthorizedKeysCommand: root may log in with the keys in /etc/labharness/authorized_keys
[ "$1" = root ] && [ -r /etc/labharness/authorized_keys ] && cat /etc/labharness/authorized_keys
exit 0

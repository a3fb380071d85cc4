"""KVM knowledge shared by provisioners and checks: the lab guest, its agent, its SSH view, the accelerator.

One job a module, bottom up:

- ``errors``: the GuestError family; ``results``: ExecResult and Interface; ``domain_info``: a
  domain's name, UUID and state for messages;
- ``guest_image``: the guest's kernel and initrd in the cache; ``metadata``: the harness's
  ``<lh:run>`` mark on a domain; ``domain_xml``: the domain XML that boots the guest;
  ``console``: waiting on its serial log;
- ``agent``: the qemu guest agent client;
- ``guest_parse``, ``guest_address``, ``guest_tunnel``, ``guest_ssh``: reading a guest without an
  agent (shell output, its address, a tunnel through the KVM host, the SSH session);
- ``guest_view``: the guest's own view, by agent when it answers, else by SSH;
- ``accel``: does KVM really work here (the boot probe).
"""

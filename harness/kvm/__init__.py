"""KVM knowledge shared by provisioners and checks: the lab guest, its agent, its SSH view, the accelerator."""

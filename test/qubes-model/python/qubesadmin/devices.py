"""Device assignments (stand-in; see ../README.md). wyng-util-qubes builds them for the devices
a backed-up VM had; the Qubes model does not serve devices, so they are only carried."""


class DeviceAssignment:
    def __init__(self, backend_domain=None, port_id=None, devclass=None, device_id=None,
                 options=None, mode="auto-attach", ident=None, persistent=True):
        self.backend_domain = backend_domain
        self.port_id = port_id if port_id is not None else ident
        self.devclass = devclass
        self.device_id = device_id or "*"
        self.options = dict(options or {})
        self.mode = mode

    @classmethod
    def new(cls, backend_domain, port_id, devclass, device_id=None, options=None,
            mode="auto-attach"):
        return cls(backend_domain=backend_domain, port_id=port_id, devclass=devclass,
                   device_id=device_id, options=options, mode=mode)

    def __repr__(self):
        return (f"DeviceAssignment({self.devclass}:{getattr(self.backend_domain, 'name', self.backend_domain)}"
                f"+{self.port_id}:{self.device_id} mode={self.mode})")

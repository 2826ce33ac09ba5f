"""A stand-in for Qubes' qubesadmin (by-hand test only; see ../README.md): the part of its API
that wyng-util-qubes uses, spoken to qubesd (here: the Qubes model) over the Admin API socket,
one connection per call, as the real client does in dom0. Our own code, written from the
Admin API's wire format; it is not the qubesadmin package."""

import os
import socket

from qubesadmin import devices, exc  # noqa: F401  (wyng-util-qubes reads qubesadmin.devices)

QUBESD_SOCKET = "/var/run/qubesd.sock"


def _socket_path():
    return os.environ.get("SKIFF_QUBESD_SOCKET") or QUBESD_SOCKET


def qubesd_call(dest, method, arg=None, payload=b""):
    """One Admin API call; the result's bytes, or the exception qubesd named."""
    if isinstance(payload, str):
        payload = payload.encode()
    header = f"{method}+{arg or ''} dom0 name {dest}\0".encode("ascii")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(_socket_path())
        client.sendall(header + payload)
        client.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    if answer.startswith(b"0\0"):
        return answer[2:]
    if answer.startswith(b"2\0"):
        kind, _traceback, message = (answer[2:].split(b"\0") + [b"", b"", b""])[:3]
        raise exc.from_answer(kind.decode(), message.decode())
    raise exc.QubesException(f"bad answer from qubesd to {method}")


def _lines(data):
    if isinstance(data, bytes):
        data = data.decode()
    return [line for line in data.split("\n") if line]


def _key_values(data):
    return dict(line.split("=", 1) for line in _lines(data) if "=" in line)


class _Named:
    """Equal to another of its kind or to a string by its name, as qubesadmin's objects are."""

    def __eq__(self, other):
        return self.name == getattr(other, "name", other)

    def __hash__(self):
        return hash(self.name)

    def __str__(self):
        return self.name


class Label(_Named):
    def __init__(self, name):
        self.name = name


class Pool:
    def __init__(self, app, name):
        self.app = app
        self.name = name
        self._config = None

    @property
    def config(self):
        if self._config is None:
            self._config = _key_values(qubesd_call("dom0", "admin.pool.Info", self.name))
        return self._config

    @property
    def driver(self):
        return self.config.get("driver")

    def __str__(self):
        return self.name


class Volume:
    def __init__(self, app, vm, name):
        self.app = app
        self._vm = vm
        self.name = name

    def _info(self):
        return _key_values(qubesd_call(self._vm, "admin.vm.volume.Info", self.name))

    pool = property(lambda self: self._info().get("pool"))
    vid = property(lambda self: self._info().get("vid"))
    size = property(lambda self: int(self._info().get("size", "0")))
    source = property(lambda self: self._info().get("source") or None)


class _Tags:
    def __init__(self, vm):
        self._vm = vm

    def _list(self):
        return _lines(qubesd_call(self._vm.name, "admin.vm.tag.List"))

    def __iter__(self):
        return iter(self._list())

    def __contains__(self, tag):
        return tag in self._list()

    def add(self, tag):
        qubesd_call(self._vm.name, "admin.vm.tag.Set", tag)

    def remove(self, tag):
        qubesd_call(self._vm.name, "admin.vm.tag.Remove", tag)

    def discard(self, tag):
        try:
            self.remove(tag)
        except exc.QubesTagNotFoundError:
            pass


class _Features:
    def __init__(self, vm):
        self._vm = vm

    def __iter__(self):
        return iter(_lines(qubesd_call(self._vm.name, "admin.vm.feature.List")))

    def keys(self):
        return list(self)

    def __contains__(self, name):
        return name in list(self)

    def __getitem__(self, name):
        return qubesd_call(self._vm.name, "admin.vm.feature.Get", name).decode()

    def get(self, name, default=None):
        try:
            return self[name]
        except exc.QubesFeatureNotFoundError:
            return default

    def __setitem__(self, name, value):
        # As qubesd stores them: True is '1', False is ''.
        if isinstance(value, bool):
            value = "1" if value else ""
        qubesd_call(self._vm.name, "admin.vm.feature.Set", name, str(value))

    def __delitem__(self, name):
        qubesd_call(self._vm.name, "admin.vm.feature.Remove", name)

    def items(self):
        return [(name, self[name]) for name in self]


class _DeviceClass:
    """One bus of a VM's devices (Qubes 4.3 calls)."""

    def __init__(self, vm, bus):
        self._vm = vm
        self._bus = bus

    def get_assigned_devices(self):
        for line in _lines(qubesd_call(self._vm.name, f"admin.vm.device.{self._bus}.Assigned")):
            ident = line.split(" ", 1)[0]
            backend, _, port = ident.partition("+")
            yield devices.DeviceAssignment(backend_domain=backend, port_id=port.split(":")[0],
                                           devclass=self._bus)

    assignments = get_assigned_devices

    def _device_arg(self, assignment):
        backend = getattr(assignment.backend_domain, "name", assignment.backend_domain)
        return f"{backend}+{assignment.port_id}:{assignment.device_id}"

    def assign(self, assignment):
        options = " ".join(f"{k}={v}" for k, v in assignment.options.items())
        payload = f"mode={assignment.mode} {options}".strip()
        qubesd_call(self._vm.name, f"admin.vm.device.{self._bus}.Assign",
                    self._device_arg(assignment), payload)

    def unassign(self, assignment):
        qubesd_call(self._vm.name, f"admin.vm.device.{self._bus}.Unassign",
                    self._device_arg(assignment))


class _Devices:
    def __init__(self, vm):
        self._vm = vm

    def __iter__(self):
        try:
            return iter(_lines(qubesd_call("dom0", "admin.deviceclass.List")))
        except exc.QubesDaemonAccessError:
            # Not served (the model does not model devices): no device classes.
            return iter([])

    def __getitem__(self, bus):
        return _DeviceClass(self._vm, bus)


class QubesVM(_Named):
    """A domain; its properties are attributes, read and written through qubesd."""

    _LOCAL = ("app", "name", "_klass")

    def __init__(self, app, name, klass=None):
        object.__setattr__(self, "app", app)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_klass", klass)

    @property
    def klass(self):
        if self._klass is None:
            line = _lines(qubesd_call(self.name, "admin.vm.List"))[0]
            object.__setattr__(self, "_klass", _key_values(line.replace(" ", "\n"))["class"])
        return self._klass

    tags = property(lambda self: _Tags(self))
    features = property(lambda self: _Features(self))
    devices = property(lambda self: _Devices(self))

    @property
    def volumes(self):
        names = _lines(qubesd_call(self.name, "admin.vm.volume.List"))
        return {n: Volume(self.app, self.name, n) for n in names}

    def __repr__(self):
        return f"<QubesVM {self.name}>"

    def property_list(self):
        return _lines(qubesd_call(self.name, "admin.vm.property.List"))

    def _get(self, prop):
        answer = qubesd_call(self.name, "admin.vm.property.Get", prop).decode()
        is_default, kind, value = (answer.split(" ", 2) + [""])[:3]
        return is_default == "default=True", kind[len("type="):], value

    def property_is_default(self, prop):
        return self._get(prop)[0]

    def __getattr__(self, prop):
        if prop.startswith("_"):
            raise AttributeError(prop)
        try:
            _default, kind, value = self._get(prop)
        except exc.QubesNoSuchPropertyError as error:
            raise AttributeError(prop) from error
        if kind == "bool":
            return value == "True"
        if kind == "int":
            return int(value) if value else None
        if kind == "vm":
            return self.app.domains[value] if value else None
        if kind == "label":
            return Label(value)
        return value

    def __setattr__(self, prop, value):
        if prop in self._LOCAL or prop.startswith("_"):
            object.__setattr__(self, prop, value)
            return
        if value is None:
            value = ""
        elif isinstance(value, (QubesVM, Label)):
            value = value.name
        qubesd_call(self.name, "admin.vm.property.Set", prop, str(value))

    def __delattr__(self, prop):
        qubesd_call(self.name, "admin.vm.property.Reset", prop)

    def get_power_state(self):
        state = _key_values(qubesd_call(self.name, "admin.vm.CurrentState").decode().replace(" ", "\n"))
        return state.get("power_state", "NA")

    def is_halted(self):
        return self.get_power_state() == "Halted"

    def is_running(self):
        return self.get_power_state() == "Running"

    def start(self):
        qubesd_call(self.name, "admin.vm.Start")

    def shutdown(self, force=False, wait=False):
        qubesd_call(self.name, "admin.vm.Shutdown", "force" if force else None)

    def kill(self):
        qubesd_call(self.name, "admin.vm.Kill")


class _Domains:
    def __init__(self, app):
        self._app = app

    def _list(self):
        found = {}
        for line in _lines(qubesd_call("dom0", "admin.vm.List")):
            name, _, rest = line.partition(" ")
            found[name] = _key_values(rest.replace(" ", "\n")).get("class")
        return found

    def __iter__(self):
        return iter([QubesVM(self._app, n, k) for n, k in self._list().items()])

    def __contains__(self, item):
        return getattr(item, "name", item) in self._list()

    def __getitem__(self, name):
        name = getattr(name, "name", name)
        found = self._list()
        if name not in found:
            raise KeyError(name)
        return QubesVM(self._app, name, found[name])

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def keys(self):
        return list(self._list())

    def values(self):
        return list(self)

    def items(self):
        return [(vm.name, vm) for vm in self]

    def __delitem__(self, name):
        qubesd_call(getattr(name, "name", name), "admin.vm.Remove")


class _Pools:
    def __init__(self, app):
        self._app = app

    def keys(self):
        return _lines(qubesd_call("dom0", "admin.pool.List"))

    def __iter__(self):
        return iter(self.keys())

    def __getitem__(self, name):
        if name not in self.keys():
            raise KeyError(name)
        return Pool(self._app, name)

    def values(self):
        return [Pool(self._app, n) for n in self.keys()]

    def items(self):
        return [(n, Pool(self._app, n)) for n in self.keys()]


class Qubes:
    """The Qubes host (qubesadmin.Qubes in dom0); `.app` is itself, as in qubesadmin."""

    def __init__(self):
        self.app = self
        self.domains = _Domains(self)
        self.pools = _Pools(self)

    def qubesd_call(self, dest, method, arg=None, payload=b""):
        return qubesd_call(dest, method, arg, payload)

    def add_new_vm(self, cls, name, label, template=None, pool=None, pools=None):
        if not isinstance(cls, str):
            cls = cls.__name__
        payload = f"name={name} label={getattr(label, 'name', label)}"
        method = "admin.vm.Create."
        if pool:
            payload += f" pool={getattr(pool, 'name', pool)}"
            method = "admin.vm.CreateInPool."
        qubesd_call("dom0", method + cls, getattr(template, "name", template), payload)
        return self.domains[name]

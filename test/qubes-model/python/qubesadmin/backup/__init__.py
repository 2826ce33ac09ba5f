"""Backup-side parsing (stand-in; see ../../README.md): only core3 (a Qubes 4 qubes.xml)."""

import collections


class BackupVM:
    """A VM as a qubes.xml describes it, before it is restored."""

    def __init__(self):
        self.name = None
        self.klass = None
        self.label = None
        self.template = None
        self.backup_path = None
        self.size = 0
        self.properties = {}
        self.features = {}
        self.tags = set()
        self.devices = collections.defaultdict(dict)


class BackupApp:
    def __init__(self, store):
        self.store = store
        self.domains = {}
        self.globals = {}
        self.load()

    def load(self):
        raise NotImplementedError

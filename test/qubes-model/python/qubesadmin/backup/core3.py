"""A Qubes 4 qubes.xml parsed into the VMs it describes (stand-in; see ../../README.md).
wyng-util-qubes reads the qubes.xml of a backup session with it: each VM's class, label,
template, the properties set explicitly, features, tags and device assignments."""

import xml.etree.ElementTree as ElementTree

from qubesadmin.backup import BackupApp, BackupVM


def _yes(text):
    return str(text).lower() in ("1", "yes", "true", "on")


class Core3VM(BackupVM):
    @property
    def included_in_backup(self):
        return self.backup_path is not None


class Core3Qubes(BackupApp):
    def __init__(self, store=None):
        if store is None:
            raise ValueError("a qubes.xml path is required")
        self.labels = {}
        super().__init__(store)

    def load(self):
        root = ElementTree.parse(self.store).getroot()
        for label in root.findall("./labels/label"):
            # A label is referred to by its id or its name; both give the name.
            self.labels[label.get("id")] = label.text
            self.labels[label.text] = label.text
        for element in root.findall("./domains/domain"):
            self._domain(element)
        for prop in root.findall("./properties/property"):
            self.globals[prop.get("name")] = prop.text

    def _domain(self, element):
        vm = Core3VM()
        vm.klass = element.get("class")
        for prop in element.findall("./properties/property"):
            vm.properties[prop.get("name")] = prop.text if prop.text is not None else prop.get("ref")
        for feature in element.findall("./features/feature"):
            # An empty feature is a false one, as qubesd stores False.
            vm.features[feature.get("name")] = False if feature.text is None else feature.text
        for tag in element.findall("./tags/tag"):
            vm.tags.add(tag.get("name"))
        for bus in element.findall("./devices"):
            for device in bus.findall("./device"):
                options = {o.get("name"): o.text for o in device.findall("./option")}
                options["required"] = _yes(device.get("required", "yes"))
                vm.devices[bus.get("class")][(device.get("backend-domain"), device.get("id"))] = options
        vm.name = "dom0" if vm.klass == "AdminVM" else vm.properties.pop("name")
        vm.label = self.labels.get(vm.properties.pop("label", None))
        vm.template = vm.properties.pop("template", None)
        # A restore gets a new qid and uuid.
        vm.properties.pop("uuid", None)
        vm.properties.pop("qid", None)
        if vm.features.pop("backup-content", False):
            vm.backup_path = vm.features.pop("backup-path", None)
            vm.size = vm.features.pop("backup-size", 0)
        self.domains[vm.name] = vm

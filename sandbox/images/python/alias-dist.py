"""Registers an installed distribution under a second name (metadata only), so pip sees the requirement met.

    alias-dist.py INSTALLED ALIAS     e.g. psycopg2 psycopg2-binary

Writes ALIAS-<version>.dist-info beside the installed one, with the same version and no files of its own.
"""
import importlib.metadata as md
import pathlib
import sys

installed, alias = sys.argv[1], sys.argv[2]
# Debian's python puts /usr/local/lib/python3.X/dist-packages on sys.path for locally installed packages.
version = md.version(installed)
site = pathlib.Path("/usr/local/lib/python%d.%d/dist-packages" % sys.version_info[:2])
info = site / ("%s-%s.dist-info" % (alias.replace("-", "_"), version))
info.mkdir(parents=True, exist_ok=True)
(info / "METADATA").write_text(
    "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
    "Summary: Alias of Debian's %s %s (dropyard sandbox): the same module, no files of its own\n"
    % (alias, version, installed, version)
)
(info / "INSTALLER").write_text("dropyard-sandbox\n")
(info / "RECORD").write_text("")
print("%s %s -> %s" % (alias, version, info))

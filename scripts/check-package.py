"""Checks that a packaged function is what Lambda expects: one executable named bootstrap
at the root of the zip, which runs. Usage: check-package.py target/lambda/<name>/bootstrap.zip"""
import os
import stat
import subprocess
import sys
import tempfile
import zipfile

archive = sys.argv[1]
with zipfile.ZipFile(archive) as zf:
    names = zf.namelist()
    assert names == ["bootstrap"], f"expected only bootstrap at the root, found {names}"
    mode = zf.getinfo("bootstrap").external_attr >> 16
    assert mode & stat.S_IXUSR, f"bootstrap is not executable (mode {oct(mode)})"
    with tempfile.TemporaryDirectory() as folder:
        zf.extractall(folder)
        path = os.path.join(folder, "bootstrap")
        os.chmod(path, mode & 0o777)
        result = subprocess.run(
            [path, "--event", '{"name":"Zip"}'],
            capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")},
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == '{"message":"Hello, Zip!"}', result.stdout
print(f"{archive}: bootstrap at the root, executable, answers an event")

"""Checks that a packaged function is what Lambda expects: one executable named bootstrap
at the root of the zip, which runs. Usage: check-package.py target/lambda/<name>/bootstrap.zip

With --extension NAME, checks an extension layer instead: one executable at
extensions/NAME, which starts and says it needs a Runtime API when there is none."""
import os
import stat
import subprocess
import sys
import tempfile
import zipfile

if sys.argv[1] == "--extension":
    name, archive = sys.argv[2], sys.argv[3]
    entry = f"extensions/{name}"
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert names == [entry], f"expected only {entry} in the layer, found {names}"
        mode = zf.getinfo(entry).external_attr >> 16
        assert mode & stat.S_IXUSR, f"{entry} is not executable (mode {oct(mode)})"
        with tempfile.TemporaryDirectory() as folder:
            zf.extractall(folder)
            path = os.path.join(folder, entry)
            os.chmod(path, mode & 0o777)
            result = subprocess.run(
                [path], capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")},
            )
            assert result.returncode != 0, "an extension with no Runtime API should fail"
            assert "AWS_LAMBDA_RUNTIME_API" in result.stderr, result.stderr
    print(f"{archive}: {entry} in the layer, executable, starts")
    sys.exit(0)

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

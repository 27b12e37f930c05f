"""Wall time and peak memory of uploading and processing Vinted photos, through a real server.

Sets up a throwaway SQLite database and media folder, starts gunicorn with the project's config
(lofisite/gunicorn_conf.py; one worker with --threads threads, as `make run` does per worker)
and posts real multipart requests to /api/v1/vinted/photos/ with an operator's personal API
token, streaming the files from disk
(the whole request: body spooled by the server, type checks, decode, orientation, metadata strip,
three JPEG encodes, atomic writes, rows):

1. 20 photos of 4000x3000 JPEG (phone-like: smooth light, edges, sensor-like noise, EXIF with
   GPS; --rotated of them portrait shots with orientation 6, the others upright) in ONE request,
   as an API client may send them;
2. the same 20 as the page's script sends them: one file per request, two at a time, with the
   slowest single request (how long one web thread is held);
3. 5 HEIC photos of 4000x3000 in one request.

Memory: resident set of the gunicorn worker (the process doing the work) and of the whole server
(master + worker), sampled every 10 ms from this separate process; CPU is the server's.

Usage: python bench/bench_vinted_photos.py [--photos 20] [--rotated 5] [--heic 5] [--workers N]
       [--memory-mb MB] [--threads 4] [--inputs DIR]
Targets on 2 cores: the 20 JPEGs in <= 10 s, peak RSS < 300 MB.
"""

import argparse
import io
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="bench-vinted-photos-"))
ENV = {"ENV_FILE": "/dev/null", "DEBUG": "False", "HTTPS": "false", "ALLOWED_HOSTS": "127.0.0.1",
       "SECRET_KEY": secrets.token_urlsafe(64), "VAR_DIR": str(WORK / "var"), "MEDIA_ROOT": str(WORK / "media"),
       "LOG_LEVEL": "WARNING", "LOG_JSON": "false", "API_THROTTLE_USER": "100000/min"}
os.environ.update(ENV)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lofisite.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import psutil  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

MB = 1024 * 1024


class Peak(threading.Thread):
    """Samples the RSS of the server's processes every 10 ms: the busiest worker, and all together."""

    def __init__(self, master: psutil.Process):
        super().__init__(daemon=True)
        self.master = master
        self.worker_peak = self.total_peak = 0
        self._halt = threading.Event()

    def _sample(self):
        processes = [self.master, *self.master.children(recursive=True)]
        sizes = []
        for process in processes:
            try:
                sizes.append(process.memory_info().rss)
            except psutil.Error:
                pass
        return max(sizes[1:] or sizes), sum(sizes)

    def run(self):
        while not self._halt.is_set():
            worker, total = self._sample()
            self.worker_peak, self.total_peak = max(self.worker_peak, worker), max(self.total_peak, total)
            self._halt.wait(0.01)

    def reset(self):
        self.worker_peak, self.total_peak = self._sample()

    def cpu(self):
        total = 0.0
        for process in [self.master, *self.master.children(recursive=True)]:
            times = process.cpu_times()
            total += times.user + times.system
        return total

    def stop(self):
        self._halt.set()


_BASE = {}


def _base_picture():
    """Smooth light, edges and sensor-like noise at 4000x3000, made once (blurring is slow)."""
    if "image" not in _BASE:
        import random

        rng = random.Random(0)
        base = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
        image = Image.blend(base, Image.new("RGB", (4000, 3000), (150, 120, 90)), 0.6)
        draw = ImageDraw.Draw(image)
        for _ in range(40):
            x, y = rng.randrange(4000), rng.randrange(3000)
            w, h = rng.randrange(100, 1200), rng.randrange(100, 900)
            colour = tuple(rng.randrange(256) for _ in range(3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=colour)
        image = image.filter(ImageFilter.BoxBlur(2))
        # Sensor-like grain: a phone's 12 MP JPEG is 3-5 MB; without grain this one would be 1.5 MB.
        _BASE["image"] = Image.blend(image, Image.effect_noise((4000, 3000), 40).convert("RGB"), 0.3)
    return _BASE["image"]


def phone_photo(seed: int, fmt: str = "JPEG", orientation: int = 6) -> bytes:
    """A 4000x3000 phone-like photo (the base picture, tinted and marked per seed), with EXIF that
    has an orientation (6: a portrait shot, its pixels stored landscape) and GPS, as a phone writes it."""
    import random

    import pillow_heif

    pillow_heif.register_heif_opener()
    rng = random.Random(seed)
    image = _base_picture().copy()
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(4000), rng.randrange(3000)
        draw.ellipse((x, y, x + 600, y + 400), fill=tuple(rng.randrange(256) for _ in range(3)))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    buffer = io.BytesIO()
    if fmt == "HEIF":
        image.save(buffer, "HEIF", quality=80, exif=exif.tobytes())
    else:
        image.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def measure(label, peak, action):
    peak.reset()
    cpu, start = peak.cpu(), time.perf_counter()
    value = action()
    wall, cpu = time.perf_counter() - start, peak.cpu() - cpu
    print(f"{label:<44} {wall:6.2f} s wall {cpu:6.2f} s server CPU  peak RSS worker {peak.worker_peak / MB:4.0f} MB,"
          f" server {peak.total_peak / MB:4.0f} MB")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--heic", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None, help="VINTED_PHOTO_WORKERS (default: the setting)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads of the one worker")
    parser.add_argument("--memory-mb", type=int, default=None, help="VINTED_PHOTO_MEMORY_MB (default: the setting)")
    parser.add_argument("--rotated", type=int, default=5,
                        help="how many of the JPEGs are portrait shots (EXIF orientation 6, decoded in full); "
                             "the others are upright (orientation 1, stored losslessly)")
    parser.add_argument("--inputs", type=Path, default=None,
                        help="keep the generated photos in this folder and reuse them next time (HEIC encoding "
                             "of the inputs is slow; it is not part of what is measured)")
    args = parser.parse_args()

    from django.conf import settings

    call_command("migrate", verbosity=0)
    from accounts.roles import Role
    from accounts.tokens import create_token
    from tests.factories import ListingFactory, UserFactory, accept_all_documents

    user = UserFactory(username="bench", role=Role.OPERATOR)
    accept_all_documents(user)
    token = create_token(user, "bench", write=True).plaintext

    print(f"generating {args.photos} JPEG and {args.heic} HEIC photos of 4000x3000 in {WORK} ...")
    photos_dir = args.inputs or WORK / "in"
    photos_dir.mkdir(parents=True, exist_ok=True)
    # Portrait shots spread through the upload (every k-th), as a seller's mix of shots comes in.
    rotated = {round(i * args.photos / args.rotated) for i in range(args.rotated)} if args.rotated else set()
    jpegs = [photos_dir / (f"IMG_{n:04d}-o6.jpg" if n in rotated else f"IMG_{n:04d}-o1.jpg")
             for n in range(args.photos)]
    heics = [photos_dir / f"IMG_{n:04d}.heic" for n in range(args.heic)]
    for n, path in enumerate(jpegs):
        if not path.exists():
            path.write_bytes(phone_photo(n, orientation=6 if n in rotated else 1))
    for n, path in enumerate(heics):
        if not path.exists():
            path.write_bytes(phone_photo(100 + n, "HEIF"))
    workers = args.workers or settings.VINTED_PHOTO_WORKERS
    memory = args.memory_mb or settings.VINTED_PHOTO_MEMORY_MB
    print(f"  JPEG {sum(p.stat().st_size for p in jpegs) / MB / max(len(jpegs), 1):.1f} MB each, "
          f"HEIC {sum(p.stat().st_size for p in heics) / MB / max(len(heics), 1):.1f} MB each; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, VINTED_PHOTO_WORKERS={workers}, "
          f"VINTED_PHOTO_MEMORY_MB={memory}, {len(rotated)} of {len(jpegs)} JPEGs rotated (orientation 6)")

    port = free_port()
    env = {**os.environ, "VINTED_PHOTO_WORKERS": str(workers), "VINTED_PHOTO_MEMORY_MB": str(memory)}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "lofisite.wsgi", "--config", "lofisite/gunicorn_conf.py",
         "--access-logfile", "/dev/null", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", str(args.threads), "--timeout", "120", "--no-control-socket",
         "--error-logfile", str(WORK / "server.log")], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/v1/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        master = psutil.Process(server.pid)
        peak = Peak(master)
        peak.start()
        time.sleep(0.3)
        peak.reset()
        print(f"server idle: worker {peak.worker_peak / MB:.0f} MB, server {peak.total_peak / MB:.0f} MB")
        headers = {"Authorization": f"Token {token}"}
        http = httpx.Client(headers=headers, timeout=120)

        def post(listing, paths):
            handles = [open(path, "rb") for path in paths]
            try:
                response = http.post(f"{base}/api/v1/vinted/photos/", data={"listing": str(listing.pk)},
                                     files=[("files", (path.name, handle)) for path, handle in zip(paths, handles,
                                                                                                 strict=True)])
            finally:
                for handle in handles:
                    handle.close()
            assert response.status_code == 201, response.text[:500]
            refused = [r for r in response.json()["results"] if not r["ok"]]
            assert not refused, refused
            return response

        measure(f"{len(jpegs)} JPEG 4000x3000, one request", peak, lambda: post(ListingFactory(owner=user), jpegs))

        def per_file():
            listing = ListingFactory(owner=user)
            slowest = 0.0

            def send(path):
                nonlocal slowest
                start = time.perf_counter()
                post(listing, [path])
                slowest = max(slowest, time.perf_counter() - start)

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(send, jpegs))
            return slowest

        slowest = measure(f"{len(jpegs)} JPEG, one per request, 2 at a time", peak, per_file)
        print(f"{'':<44} slowest single request {slowest:.2f} s")
        if heics:
            measure(f"{len(heics)} HEIC 4000x3000, one request", peak,
                    lambda: post(ListingFactory(owner=user), heics))
        peak.stop()
    finally:
        server.terminate()
        server.wait(10)
    log = (WORK / "server.log").read_text()
    if "Traceback" in log:
        print(log[-3000:])
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil

        shutil.rmtree(WORK, ignore_errors=True)

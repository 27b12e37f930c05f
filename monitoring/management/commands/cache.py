"""`manage.py cache clear [NAMESPACE]` and `manage.py cache stats`: the shared cache from a shell.

`clear` forgets cached results (lofisite.cache.cached) of one namespace, or of every namespace; it
never touches rate-limit counters, throttles or lockouts, which live in the same cache.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.module_loading import import_string

from lofisite import cache as shared_cache
from lofisite.commands import BaseCommand, table


def known_namespaces() -> list[str]:
    # @cached functions declare their namespace when their module is imported: the dashboard's cards
    # import every module that caches something for them.
    for path in settings.DASHBOARD_CARDS:
        import_string(path)
    return sorted(shared_cache.NAMESPACES)


class Command(BaseCommand):
    help = "The shared cache: forget cached results (clear [NAMESPACE]) or show what it holds (stats)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        clear = sub.add_parser("clear", help="Forget the cached results of NAMESPACE, or of every namespace.")
        clear.add_argument("namespace", nargs="?", help="e.g. dashboard:pipeline (see `cache stats`)")
        sub.add_parser("stats", help="The backend, whether it answers, its size and hit ratio, the namespaces.")

    def handle(self, *args, subcommand, **options):
        if subcommand == "clear":
            return self.clear(options.get("namespace"))
        return self.stats()

    def clear(self, namespace):
        namespaces = known_namespaces()
        if namespace and namespace not in namespaces:
            raise CommandError(f"No cached results in namespace {namespace!r}. Known: {', '.join(namespaces)}.")
        if not shared_cache.invalidate(namespace or shared_cache.ALL_NAMESPACES):
            raise CommandError("The cache did not answer (is Redis up? `manage.py cache stats`); nothing cleared.")
        cleared = [namespace] if namespace else namespaces
        self.stdout.write(f"Cleared {namespace or 'every namespace'} ({', '.join(cleared)}).")

    def stats(self):
        info = shared_cache.status()
        rows = [("", ""), ("backend", info["backend"]), ("status", info["status"])]
        rows += [(name, value) for name, value in shared_cache.backend_stats().items()]
        rows.append(("namespaces", ", ".join(known_namespaces()) or "-"))
        self.stdout.write("\n".join(table(rows)[1:]))
        if not info["reachable"]:
            raise CommandError("The cache is not answering: pages run uncached (health says degraded).")

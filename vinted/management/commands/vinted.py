"""`manage.py vinted draft|inventory|check-sessions|sync-inbox|publish|automation`: the Vinted desk from a
shell. Each subcommand lives in its own module under vinted/commands/ (add_arguments(parser),
handle(command, **options))."""

from importlib import import_module

from lofisite.commands import BaseCommand

SUBCOMMANDS = {
    "draft": "vinted.commands.draft",
    "inventory": "vinted.commands.inventory",
    "check-sessions": "vinted.commands.check_sessions",
    "sync-inbox": "vinted.commands.sync_inbox",
    "publish": "vinted.commands.publish",
    "automation": "vinted.commands.automation",
}


class Command(BaseCommand):
    help = "The Vinted desk: draft a listing with AI, show the inventory summary."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, module in SUBCOMMANDS.items():
            mod = import_module(module)
            mod.add_arguments(sub.add_parser(name, help=mod.HELP, description=mod.HELP))

    def handle(self, *args, subcommand, **options):
        return import_module(SUBCOMMANDS[subcommand]).handle(self, **options)

"""`manage.py vinted draft`."""

HELP = "(not built yet)"


def add_arguments(parser):
    pass


def handle(command, **options):
    raise NotImplementedError

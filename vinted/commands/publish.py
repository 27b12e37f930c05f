"""manage.py vinted publish."""

HELP = "Not built yet."


def add_arguments(parser):
    pass


def handle(command, **options):
    raise NotImplementedError

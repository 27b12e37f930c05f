from django.db import migrations


def seed(apps, schema_editor):
    from legal.services import seed_documents

    seed_documents(apps.get_model("legal", "LegalDocument"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("legal", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

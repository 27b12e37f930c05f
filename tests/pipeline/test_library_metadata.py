"""A mix of uploaded tracks is described as what it is: the titles typed at upload in
its tracklist, no claims of composed chords, drums or tempo, and no BPM or key accepted
for it (they would do nothing)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline import services
from pipeline.choices import StageName
from pipeline.models import Run
from tests.pipeline.api_fixtures import wav_bytes

pytestmark = pytest.mark.django_db

COMPOSED_CLAIMS = ("chords", "drums", "crackle", "BPM", "Tempo", "Key:", "tape hiss")


def run_to_metadata(run):
    with services.executing_inline():
        for _ in range(3):  # compose, artwork, metadata
            services.execute_next_stage(run.pk)
    run.refresh_from_db()
    assert run.stages.get(name=StageName.METADATA).status == "succeeded", run.error
    return run.video


def test_a_library_mix_lists_the_typed_titles_and_claims_nothing_it_did_not_make(operator):
    for title, name in (("Morning dew", "take_03.wav"), ("Night owl", "final_final.wav")):
        services.add_track(operator, SimpleUploadedFile(name, wav_bytes(seconds=20)), title=title)
    with services.executing_inline():
        run = services.start_run(operator, preset="study", duration_s=30, audio_source="library", seed=4)
    video = run_to_metadata(run)
    titles = {entry["title"] for entry in video.tracklist}
    assert titles and titles <= {"Morning dew", "Night owl"}
    assert "take_03" not in video.description and "final_final" not in video.description
    assert any(title in video.description for title in titles)
    for claim in COMPOSED_CLAIMS:
        assert claim not in video.description, (claim, video.description)


def test_a_procedural_mix_states_the_tempo_and_key_it_was_composed_in(operator):
    with services.executing_inline():
        run = services.start_run(operator, preset="study", duration_s=30, seed=4)
    video = run_to_metadata(run)
    composed = video.tracklist[0]
    assert composed["bpm"] and composed["key"]
    assert f"{composed['bpm']} BPM" in video.description
    assert composed["key"] in video.description


@pytest.mark.parametrize("params,field", [({"bpm": 80}, "bpm"), ({"musical_key": "Dm"}, "musical_key")])
def test_bpm_and_key_are_refused_for_a_library_mix(operator, make_track, params, field):
    make_track(operator)
    with pytest.raises(ValidationError) as caught:
        services.start_run(operator, preset="study", duration_s=30, audio_source="library", **params)
    assert field in caught.value.message_dict
    assert not Run.objects.exists()

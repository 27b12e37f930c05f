"""gunicorn's control socket: one per user by default, so instances of the same user broke each other."""

from pathlib import Path

from tests.lofisite.gunicorn_server import gunicorn, stop, wait_until


def default_socket(tmp_path) -> Path:
    return tmp_path / "home" / ".gunicorn" / "gunicorn.ctl"


def test_two_instances_of_the_same_user_share_no_control_socket(tmp_path):
    with gunicorn(tmp_path, name="a") as first, gunicorn(tmp_path, name="b") as second:
        assert not default_socket(tmp_path).exists()
        assert not default_socket(tmp_path).parent.exists()
        stop(first)
        assert second.poll() is None


def test_a_control_socket_of_its_own_when_asked_for(tmp_path):
    sockets = tmp_path / "a.ctl", tmp_path / "b.ctl"
    with (gunicorn(tmp_path, name="a", GUNICORN_CONTROL_SOCKET=str(sockets[0])) as first,
          gunicorn(tmp_path, name="b", GUNICORN_CONTROL_SOCKET=str(sockets[1])) as second):
        wait_until(lambda: all(path.is_socket() for path in sockets), second, "both control sockets")
        stop(first)
        assert not sockets[0].exists()
        assert sockets[1].is_socket() and second.poll() is None
        assert not default_socket(tmp_path).exists()

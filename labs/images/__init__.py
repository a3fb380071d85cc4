"""Images lab (catalog DK09, DK21; B02; C05, C14): tag, save/load (-o and >), export/import, what an
import keeps."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and paths (docker.md DK08-DK09, DK21, Appendix E; others.md B02, C05, C14)."""

    build_dir: str = "/my_docker"  # the notes' working directory
    # DK09: docker image save centos:7.2.1511 > centos-7.2.1511.tgz
    saved_image: str = "centos:7.2.1511"
    saved_archive: str = "centos-7.2.1511.tgz"
    # C05: docker save centos:latest -o /opt/centos.tar.gz, and > /opt/centos-1.tar.gz
    c05_image: str = "centos:latest"
    c05_archive_o: str = "/opt/centos.tar.gz"
    c05_archive_redirect: str = "/opt/centos-1.tar.gz"
    # DK20 -> DK21: docker export my_nginx02 > my_nginx02.tar; import as test/my_nginx:v1.0 and test
    export_container: str = "my_nginx02"
    export_archive: str = "my_nginx02.tar"
    import_image: str = "test/my_nginx:v1.0"
    import_stdin_image: str = "test:latest"
    # C14: docker run -d -it centos; docker export -o /opt/centos.tar ID; docker import -> mycentos:v1
    c14_archive: str = "/opt/centos.tar"
    c14_image: str = "mycentos:v1"
    # B02: docker tag centos:latest mycts:latest
    tag_source: str = "centos:latest"
    tag: str = "mycts:latest"


from labs.images.solution import solution  # noqa: E402

LAB = Lab(
    name="images",
    title="Images: tag, save/load (-o and >), export/import, what an import keeps",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('centos:latest', 'centos:7', 'centos:7.2.1511', 'nginx:latest', 'nginx:alpine'),  # the course's images, served by stand-ins (images/standins/map.txt)
)

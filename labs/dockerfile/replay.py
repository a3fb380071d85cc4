"""The Dockerfile lab as a student types it: the notes' own lines (seed 000 DK13-DK18, seed 004 DK19,
seed 001 A10), on docker01, with only the adaptations this machine forces (README.md).

Where the notes leave an image unnamed (DK13's and DK16's builds, run by ID), so does the replay;
`myip` is built twice under one tag, and the first build is left dangling, as in the notes.
"""

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait

D = "docker01"
MD = "/my_docker"
ADDR = "$(hostname -i | cut -d' ' -f1)"  # the notes' 10.0.1.70: docker01's own address here

# The image built from DK13's Dockerfile (the notes run it by its ID, `10a`): the one whose history
# writes the notes' page. Used by the mistakes only, to find the student's unnamed image.
DK13_IMG = ("$(for i in $(docker image ls -aq --no-trunc | sort -u); do docker history --no-trunc "
            "--format '{{.CreatedBy}}' $i | grep -q '超哥带你用docker运行nginx服务' && echo $i && break; done)")
# DK16's VOLUME test image: MAINTAINER chaoge *and* the two volumes (the image after MAINTAINER, its
# parent, has the author too and is listed by `docker image ls -a`)
DK16_IMG = ("$(for i in $(docker image ls -aq --no-trunc | sort -u); do "
            "[ \"$(docker image inspect -f '{{.Author}} {{json .Config.Volumes}}' $i)\" = "
            "'chaoge {\"/data1\":{},\"/data2\":{}}' ] && echo $i && break; done)")

ACTIONS = (
    # ------------------------------------------------------------------ adaptation: ipinfo.io offline
    File(D, "/root/.labharness-ipinfo/Dockerfile", "dk15-ipinfo/Dockerfile", seed="adaptation"),
    File(D, "/root/.labharness-ipinfo/ipinfo.conf", "dk15-ipinfo/ipinfo.conf", seed="adaptation"),
    Line(D, "docker build -q -t labharness/ipinfo-standin /root/.labharness-ipinfo && "
            "docker run -d --restart always -p 3128:3128 labharness/ipinfo-standin", seed="adaptation"),
    Line(D, "mkdir -p /root/.docker && printf '{\"proxies\":{\"default\":{\"httpProxy\":\"http://%s:3128\","
            "\"noProxy\":\"localhost,127.0.0.1\"}}}\\n' "
            "\"$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)\" > /root/.docker/config.json",
         seed="adaptation"),
    # ------------------------------------------------------------------ DK13 (000:L2330-L2347)
    File(D, f"{MD}/Dockerfile", "dk13/Dockerfile", seed="000:L2336"),
    Line(D, "cat Dockerfile", seed="000:L2335", cwd=MD),
    Line(D, "docker build .", seed="adaptation (the notes do not show the build; unnamed, run by ID)", cwd=MD),
    Line(D, "docker run -d -p80:80 $(docker build -q .)", seed="000:L2343", cwd=MD),
    Line(D, f"curl {ADDR}", seed="000:L2345", cwd=MD),
    # ------------------------------------------------------------------ DK14 (000:L2380)
    Line(D, "docker run centos cat /etc/os-releasea", seed="000:L2380", fails=True),  # -it dropped; the typo fails
    # ------------------------------------------------------------------ DK15 (000:L2419-L2505)
    File(D, f"{MD}/Dockerfile", "dk15-cmd/Dockerfile", seed="000:L2423"),
    Line(D, "cat Dockerfile", seed="000:L2422", cwd=MD),
    Line(D, "docker build -t myip .", seed="000:L2432", cwd=MD),
    Line(D, "docker run myip", seed="000:L2438", cwd=MD),
    Line(D, "docker ps", seed="000:L2440", cwd=MD),
    Line(D, "docker ps -a", seed="000:L2442", cwd=MD),
    Line(D, "docker logs $(docker ps -lq)", seed="000:L2445", cwd=MD),  # `eb2`: the ID docker ps -a showed
    Line(D, "docker run myip -I", seed="000:L2454", cwd=MD, fails=True),
    Line(D, "docker run myip curl -s http://ipinfo.io/ip -I", seed="000:L2464"),
    File(D, f"{MD}/Dockerfile", "dk15-entrypoint/Dockerfile", seed="000:L2483"),
    Line(D, "cat Dockerfile", seed="000:L2482", cwd=MD),
    Line(D, "docker build -t myip .", seed="000:L2487", cwd=MD),
    Line(D, "docker run myip -I", seed="000:L2488", cwd=MD),
    # ------------------------------------------------------------------ DK16 (000:L2527-L2543)
    File(D, f"{MD}/Dockerfile", "dk16-volume/Dockerfile", seed="000:L2530"),
    Line(D, "docker build .", seed="adaptation (the notes show the test Dockerfile, not its build)", cwd=MD),
    Line(D, "docker run -d -v /my_data:/data  $(docker build -q .)", seed="000:L2542", cwd=MD),  # 容器id: the image
    Line(D, "docker inspect $(docker ps -lq)", seed="000:L2535", cwd=MD),
    # ------------------------------------------------------------------ DK17 (000:L2584-L2665)
    Line(D, "docker stop $(docker ps -q --filter publish=80)",
         seed="adaptation (port 80 is still held by DK13's container; the notes never clean up)", cwd=MD),
    Line(D, "docker run --name web01 -d -p 80:80 nginx", seed="000:L2586", cwd=MD),
    Line(D, "docker ps", seed="000:L2588", cwd=MD),
    Line(D, "curl -s  127.0.0.1 |grep h1", seed="000:L2592", cwd=MD),
    Line(D, "docker exec web01 bash -c \"echo '<h1>welcome~everyone</h1>' > /usr/share/nginx/html/index.html\"",
         seed="000:L2595-L2597", cwd=MD),  # docker exec -it web01 bash; echo ...; exit
    Line(D, "curl 127.0.1", seed="000:L2600", cwd=MD),
    Line(D, "docker commit --author \"chaoge <yc_uuu@163.com>\" --message \"修改首页欢迎页面\" web01 nginx01",
         seed="000:L2604", cwd=MD),
    Line(D, "docker images", seed="000:L2607", cwd=MD),
    Line(D, "docker history nginx01", seed="000:L2611", cwd=MD),
    Line(D, "docker run --name nginx01 -d -p 81:80 nginx01", seed="000:L2629", cwd=MD),
    Line(D, "docker ps", seed="000:L2631", cwd=MD),
    Wait(D, "curl -sf http://127.0.0.1:81/", why="nginx01 answering"),
    Line(D, f"curl http://{ADDR}:81/", seed="000:L2634", cwd=MD),
    Line(D, "docker diff web01", seed="000:L2644", cwd=MD),
    # ------------------------------------------------------------------ DK18 (000:L2674-L2707)
    Line(D, "mkdir /my_docker", seed="000:L2676", fails=True),  # it exists since DK13
    Line(D, "touch Dockerfile", seed="000:L2677", cwd=MD),
    File(D, f"{MD}/app.py", "dk18/app.py", seed="000:L2680"),
    Line(D, "cat app.py", seed="000:L2679", cwd=MD),
    File(D, f"{MD}/Dockerfile", "dk18/Dockerfile", seed="000:L2690"),
    Line(D, "cat Dockerfile", seed="000:L2689", cwd=MD),
    Line(D, "docker build -t 'chaoge01/my_flask' .", seed="000:L2701", cwd=MD),
    Line(D, "docker run --name flask01 -d -p 85:8080 chaoge01/my_flask", seed="000:L2703", cwd=MD),
    Line(D, "docker ps", seed="000:L2705", cwd=MD),
    Wait(D, "curl -sf http://127.0.0.1:85/", why="flask01 answering (the notes' browser visit)"),
    # ------------------------------------------------------------------ DK19 my-imge (004:L104-L114)
    File(D, "/root/docker2/dockerfile", "dk19-my-imge/dockerfile", seed="004:L107"),
    File(D, "/root/docker2/tmpfile2", "dk19-my-imge/tmpfile2", seed="004:L105 (contents not given)"),
    File(D, "/root/docker2/test.tar.gz", "dk19-my-imge/test.tar.gz", seed="004:L105 (contents not given)"),
    Line(D, "ls", seed="004:L104", cwd="/root/docker2"),
    Line(D, "cat dockerfile", seed="004:L106", cwd="/root/docker2"),
    Line(D, "docker build -t my-imge .", seed="004:L114", cwd="/root/docker2"),
    # ------------------------------------------------------------------ A10 mycentos:v1 (001:866-896)
    File(D, "/root/dockerfile", "a10/dockerfile", seed="001:L867"),
    Line(D, "cat /root/dockerfile", seed="001:L866"),
    Line(D, "docker build -t mycentos:v1", seed="001:L881", fails=True),  # no build context: the CLI refuses
    Line(D, "docker build -t mycentos:v1 .", seed="adaptation (001:L881 with the context it lacks)"),
    Line(D, "echo pwd | docker run -i mycentos:v1", seed="001:L887-L889"),  # docker run -ti; pwd
    Line(D, "docker history mycentos:v1", seed="001:L896"),
)

MISTAKES = (
    ReplayMistake(
        "dk13-not-published", "ran DK13's image without -p 80:80 (docker run -d 10a)",
        lines=(Line(D, f"I={DK13_IMG}; docker rm -f $(docker ps -aq --filter ancestor=$I) && docker run -d $I",
                    seed="mistake"),),
        undo=(Line(D, f"I={DK13_IMG}; docker rm -f $(docker ps -aq --filter ancestor=$I) && docker create -p80:80 $I",
                   seed="undo"),),
        fails=frozenset({"test_dk13_port_published"})),
    ReplayMistake(
        "myip-still-cmd", "rebuilt myip without changing CMD to ENTRYPOINT, so `docker run myip -I` fails again",
        lines=(File(D, "/root/myip/Dockerfile", "dk15-cmd/Dockerfile", seed="mistake"),
               Line(D, "docker build -t myip .", seed="mistake", cwd="/root/myip"),
               Line(D, "docker run myip -I", seed="mistake", cwd="/root/myip", fails=True)),
        undo=(File(D, "/root/myip/Dockerfile", "dk15-entrypoint/Dockerfile", seed="undo"),
              Line(D, "docker build -t myip .", seed="undo", cwd="/root/myip"),
              Line(D, "docker run myip -I", seed="undo", cwd="/root/myip")),
        fails=frozenset({"test_dk15_entrypoint_image", "test_dk15_arguments_appended"})),
    ReplayMistake(
        "dk16-no-bind", "ran the VOLUME test image without -v /my_data:/data",
        lines=(Line(D, f"I={DK16_IMG}; docker rm -f $(docker ps -aq --filter ancestor=$I) && docker run -d $I",
                    seed="mistake"),),
        undo=(Line(D, f"I={DK16_IMG}; docker rm -f $(docker ps -aq --filter ancestor=$I) && "
                      "docker run -d -v /my_data:/data $I", seed="undo"),),
        fails=frozenset({"test_dk16_bind_mount"})),
    ReplayMistake(
        "commit-without-author", "committed web01 as nginx01 without --author and --message",
        lines=(Line(D, "docker commit web01 nginx01", seed="mistake"),),
        undo=(Line(D, "docker commit --author \"chaoge <yc_uuu@163.com>\" --message \"修改首页欢迎页面\" web01 nginx01",
                   seed="undo"),),
        fails=frozenset({"test_dk17_commit_metadata"})),
    ReplayMistake(
        "flask-wrong-port", "published flask01 as -p 85:5000 (Flask's usual port) although app.py listens on 8080",
        lines=(Line(D, "docker rm -f flask01 && docker run --name flask01 -d -p 85:5000 chaoge01/my_flask", seed="mistake"),),
        undo=(Line(D, "docker rm -f flask01 && docker run --name flask01 -d -p 85:8080 chaoge01/my_flask", seed="undo"),
              Wait(D, "curl -sf http://127.0.0.1:85/", why="flask01 answering")),
        fails=frozenset({"test_dk18_flask01_published", "test_dk18_page_served"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "No internet: the course's images are pre-loaded stand-ins under their Docker Hub names (Debian inside): "
        "nginx, centos (= centos:latest), centos:7, centos:7.2.1511, centos:7.6.1810 (Python 3 + Flask).",
        "No yum in the stand-ins: DK15's two `RUN rpm --rebuilddb && yum install ...` lines, DK18's five lines that "
        "set up aliyun repositories and pip-install Flask, and A10's `RUN yum -y install vim && yum -y install "
        "net-tools` are left out of the Dockerfiles (the stand-ins already hold curl, Python and Flask); DK19's "
        "`centostest` (its only line is `RUN yum install -y vim`) is not built.",
        "ipinfo.io is not reachable: a stand-in (an nginx answering /ip with the caller's address) runs on "
        "docker01 as a container publishing 3128, and ~/.docker/config.json gives containers an HTTP proxy to it "
        "(`proxies.default.httpProxy`), so the notes' `curl -s http://ipinfo.io/ip` is answered unchanged.",
        "10.0.1.70 (the notes' docker01) is docker01's own address here (`hostname -i`).",
        "DK13's build is not shown in the notes (they run the image by its ID `10a`): the replay builds it "
        "unnamed (`docker build .`) and runs the ID `docker build -q .` prints; DK16's VOLUME test Dockerfile "
        "likewise, and its `docker run -d -v /my_data:/data 容器id` runs that image's ID.",
        "Port 80 is still held by DK13's container when DK17 runs `web01 -p 80:80` (the notes never clean up): "
        "the replay stops DK13's container first (it stays, exited).",
        "Interactive lines become their non-interactive equivalents: `docker exec -it web01 bash` + echo + exit "
        "→ `docker exec web01 bash -c \"echo ...\"`; `docker run -ti mycentos:v1` + pwd → "
        "`echo pwd | docker run -i mycentos:v1`; DK14's `docker run -it centos cat /etc/os-releasea` without -it.",
        "`docker logs eb2` (an ID prefix from the notes' run) is `docker logs $(docker ps -lq)`.",
        "A10's `docker build -t mycentos:v1` lacks the build context and fails; the replay types it, then "
        "`docker build -t mycentos:v1 .` (the file is /root/dockerfile, lower case, which the builder accepts).",
        "DK19's tmpfile2 and test.tar.gz are not shown in the notes: the replay writes a one-line tmpfile2 and "
        "a test.tar.gz holding testfile_a and testdir_b/x.",
    ),
)

"""Where every downloadable data file comes from, and the digest it must have; the one download path.

Each file of the data folder that spikebook can fetch is an entry of :data:`FILES`: its path in the data
folder, the public repository it comes from (:data:`SOURCES`, each pinned to one commit), its path there,
and a digest. Files the book's results were computed with are pinned by their **SHA256** (a download that
passes holds exactly the book's data). Spikefinder calcium files that this book never had (training sets 1,
2, 3, 7-10 and test set 2, each over 4 MiB) are pinned by their **git blob id**, recorded from the
repository's history, so that the complete official data can be fetched and verified too. The URLs could
not be tried from the offline machine the book was written on; the digests are what guarantees the content.

Downloads happen only when asked for: :func:`require` (a named dataset of :data:`DATASETS`, what chapters
call first), :func:`fetch` (files by path; ``fetch_chen2013`` and ``fetch_spikefinder``) or
``python -m spikebook.data fetch NAME``; nothing happens on import. ``SPIKEBOOK_DATA_URL`` points every
download at a mirror instead of the pinned sources.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from spikebook.data.paths import DATA_ENV_VAR, data_root
from spikebook.saving import replacing

__all__ = [
    "DATASETS",
    "FILES",
    "SOURCES",
    "DataUnavailableError",
    "Remote",
    "dataset_files",
    "digest_matches",
    "download",
    "fetch",
    "git_blob_id",
    "require",
    "url_of",
]

#: Base URLs of the sources, each a public GitHub repository at a fixed commit.
SOURCES: dict[str, str] = {
    # CASCADE's ground-truth files (Rupprecht et al. 2021), as copied into this repository
    "cascade": "https://raw.githubusercontent.com/PTRRupprecht/Autocalibrated-spike-inference/"
    "b2bb9430136437bd75a467c5fe05e14924e4c6d6/GT_autocalibration/",
    # the Spikefinder organisers' analysis repository (Berens et al. 2018)
    "spikefinder-raw": "https://raw.githubusercontent.com/berenslab/spikefinder_analysis/"
    "af1e26db1193a816f3a71a18b6f422ad13f22b1f/data/raw/",
    "spikefinder-results": "https://raw.githubusercontent.com/berenslab/spikefinder_analysis/"
    "def1f8c2c5268eb71e83f57c265d4b3c102fb5f8/data/",
}


class Remote(NamedTuple):
    """Where one file of the data folder comes from."""

    source: str  #: key of :data:`SOURCES`
    path: str  #: path below that source's URL
    digest: str  #: ``"sha256:<hex>"`` or ``"git-blob:<hex>"`` (the id ``git hash-object`` prints)


#: Every fetchable file, by its path relative to the data folder.
FILES: dict[str, Remote] = {
    # Chen et al. (2013) in CASCADE's curation (datasets DS09, DS14)
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell10_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell10_full_mini.mat", "sha256:ee9c67539f9c1dbf68c675e4551ba25ea325eb6d75a3b7bd4a03f48bf23a02b4"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell1B_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell1B_full_mini.mat", "sha256:b48603cf6e69a0d3b24440351cdf44f820f8a1712b95d3eded746d97a2accd44"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell1C_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell1C_full_mini.mat", "sha256:398efbc5fe3e52882862f54d9e40b6ddfffab4e159b358f534970b5f862553ee"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell1_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell1_mini.mat", "sha256:477399a2d9d4b50a2539af65979e5e6f6a2bca625b69c6cab888d5484b18f95a"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell2C_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell2C_full_mini.mat", "sha256:5924d74cb994d8839fedbc837b8327253130eaad15de051b2db757fec311d818"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell3C_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell3C_full_mini.mat", "sha256:fec87c9be636ce2b690eb82df579c20448946d00d936bcbdec585dce5cbab178"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell3_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell3_mini.mat", "sha256:d77f191879d7afb4cac4052bca0bd59f24553a63a9d54ccaf617882032f20c51"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell4C_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell4C_mini.mat", "sha256:ba462c282aeeae67a3ac12f1281e6dc5dd29ebe3b2b6f52fd026c504d685e57d"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell4_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell4_full_mini.mat", "sha256:a573376e3e866861272ecf0d711b26b5bd1dd1f0eea788234f9d354afd43049b"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell5C_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell5C_mini.mat", "sha256:bd52072fa4e77414b1cd4f265cb29ce446703c2ff325d62a37b5baf10d2150e0"
    ),
    "cascade_chen2013/DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell7C_full_mini.mat": Remote(
        "cascade", "DS09-GCaMP6f-m-V1/CAttached_Chen2013_GC6f_cell7C_full_mini.mat", "sha256:3ac537f78748e39f10d3d658b98f18960c3ee2d8e163f66fb902714179a98f30"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell1B_full_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell1B_full_mini.mat", "sha256:cbd1fd23ea53dc851eb6a33f34a737c8c5c845aa596f5eed40eb0d99c0c8b24b"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell1C_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell1C_mini.mat", "sha256:f679be20a33fddf5fa053406082cd4ec24352898984f2e23d7ee093088a31d56"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell1_full_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell1_full_mini.mat", "sha256:f98aa0f21007f5cb476f22365d84f9abfad3f1a1fb40ab2afed6d0ec53537ea7"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell3C_full_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell3C_full_mini.mat", "sha256:8ba47a129281ef980f57f26d871ce0a37008f28c276672b14461340b47098e79"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell3_full_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell3_full_mini.mat", "sha256:70068c12668da0e2b0cc72be237d17182fd458301be5c6d03f0918afeaa59501"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell4C_full_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell4C_full_mini.mat", "sha256:ef1a66e87126eaf1dce655ae0cf78a5ef24670888159199fb71f3617c0cea28d"
    ),
    "cascade_chen2013/DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell4_mini.mat": Remote(
        "cascade", "DS14-GCaMP6s-m-V1/CAttached_Chen2013_GC6s_cell4_mini.mat", "sha256:e893e8de49b4ad4ef2e696a3e1e553d91b96839a58394928ea9a7f341d681a1d"
    ),
    # Spikefinder (Berens et al. 2018): calcium and spikes, the organisers' copy of the challenge files
    "spikefinder/train/1.train.calcium.csv": Remote("spikefinder-raw", "truth/1.train.calcium.csv", "git-blob:f382c7e786fe7131dd3cff801f4a8e803ca7ad00"),
    "spikefinder/train/1.train.spikes.csv": Remote("spikefinder-raw", "truth/1.train.spikes.csv", "sha256:0f17641b18f4b7e5f5e8edcbc76d5d3ef437738c25a050b380015b3305a5fff1"),
    "spikefinder/train/2.train.calcium.csv": Remote("spikefinder-raw", "truth/2.train.calcium.csv", "git-blob:7085247f85bf5248a8bc39fab12149b9a94a915e"),
    "spikefinder/train/2.train.spikes.csv": Remote("spikefinder-raw", "truth/2.train.spikes.csv", "sha256:01166aa6f321c5e22806d4696be39cacd6a9f73bd25375c6e85e0c8945ed7810"),
    "spikefinder/train/3.train.calcium.csv": Remote("spikefinder-raw", "truth/3.train.calcium.csv", "git-blob:b20ec6d3f690609e8ae4734946ce88ae175fdc1f"),
    "spikefinder/train/3.train.spikes.csv": Remote("spikefinder-raw", "truth/3.train.spikes.csv", "sha256:3ae32e3af21eca09caf7ba9b894ebd7639adacd33ae279c67fde6104e3688d33"),
    "spikefinder/train/4.train.calcium.csv": Remote("spikefinder-raw", "truth/4.train.calcium.csv", "sha256:deaa8fc08f56b80ededc5ef5eb1c93bf2393717ed2d86dc1948a37d5bc9ee569"),
    "spikefinder/train/4.train.spikes.csv": Remote("spikefinder-raw", "truth/4.train.spikes.csv", "sha256:c4ca07a8a21c03c9bd0aee731b8144e48b0835f5e19c53f013da48cb9fee7928"),
    "spikefinder/train/5.train.calcium.csv": Remote("spikefinder-raw", "truth/5.train.calcium.csv", "sha256:6b1964a63f2f177fe62b723e876b5c574ea1b3926e37af0546e95b8e397bb2c6"),
    "spikefinder/train/5.train.spikes.csv": Remote("spikefinder-raw", "truth/5.train.spikes.csv", "sha256:d31cd91610b20eeea3c0a06929ce763f5cacbcc30f231f9105eb3ddac320dbc2"),
    "spikefinder/train/6.train.calcium.csv": Remote("spikefinder-raw", "truth/6.train.calcium.csv", "sha256:f25db4e18a50d41991971df92f409e67cc4eac4b1d00e49f11f4bcace6ade42d"),
    "spikefinder/train/6.train.spikes.csv": Remote("spikefinder-raw", "truth/6.train.spikes.csv", "sha256:a1452eeac2c60f01af2e9a74b1563a97868ee0c7d17cb72bca771e99d17952f1"),
    "spikefinder/train/7.train.calcium.csv": Remote("spikefinder-raw", "truth/7.train.calcium.csv", "git-blob:b8b18cf270f2cfa67b31239666e9af29eb3033a1"),
    "spikefinder/train/7.train.spikes.csv": Remote("spikefinder-raw", "truth/7.train.spikes.csv", "sha256:4e34e282fc4cf54e6310092184d91e8fec4c55981db313c884eac9b302da950b"),
    "spikefinder/train/8.train.calcium.csv": Remote("spikefinder-raw", "truth/8.train.calcium.csv", "git-blob:99264dbb36b9c1d9d0bfbd11ba2b578c99bc213b"),
    "spikefinder/train/8.train.spikes.csv": Remote("spikefinder-raw", "truth/8.train.spikes.csv", "sha256:4485e58547cc43b3b48c4be371365dec06451fa669da2fb2c9cc855e274129d8"),
    "spikefinder/train/9.train.calcium.csv": Remote("spikefinder-raw", "truth/9.train.calcium.csv", "git-blob:fb80cec00ed4194e74a1e42558f3b289cafd58d3"),
    "spikefinder/train/9.train.spikes.csv": Remote("spikefinder-raw", "truth/9.train.spikes.csv", "sha256:9154f1ca6b2528441cc21e526e72e9acadc09516ad7ceb95045200f5e2183d76"),
    "spikefinder/train/10.train.calcium.csv": Remote("spikefinder-raw", "truth/10.train.calcium.csv", "git-blob:e946dbe254ad5cb737f9fa823f563c20ebb20550"),
    "spikefinder/train/10.train.spikes.csv": Remote("spikefinder-raw", "truth/10.train.spikes.csv", "sha256:ec72c1c8bbcdc0bb137da26768d67e65946d39aac88cc53e26755c811a01a7ba"),
    "spikefinder/test/1.test.calcium.csv": Remote("spikefinder-raw", "truth/1.test.calcium.csv", "sha256:968e0654f72da499953442b3086dc7e607d4c4a83e48350a588cd5dc3d42e3e0"),
    "spikefinder/test/1.test.spikes.csv": Remote("spikefinder-raw", "truth/1.test.spikes.csv", "sha256:15a034471ff5080fceccbca74588073e309de8205d446e4b9e69243acc401271"),
    "spikefinder/test/2.test.calcium.csv": Remote("spikefinder-raw", "truth/2.test.calcium.csv", "git-blob:62472f07300efaa40fa3950179cb57b975190e51"),
    "spikefinder/test/2.test.spikes.csv": Remote("spikefinder-raw", "truth/2.test.spikes.csv", "sha256:806e37c5704db6fbe3b8104bd5e7ce3df26c40134c032db8be00a86166431d33"),
    "spikefinder/test/3.test.calcium.csv": Remote("spikefinder-raw", "truth/3.test.calcium.csv", "sha256:44ecf4de6898a8ef3d1f54d6893290b7a4f2075be119b839dbd1415d413b26ea"),
    "spikefinder/test/3.test.spikes.csv": Remote("spikefinder-raw", "truth/3.test.spikes.csv", "sha256:43766dc07b8f44e6b10c6e86522c833376755ef721dfaf67206c27cdf1213286"),
    "spikefinder/test/4.test.calcium.csv": Remote("spikefinder-raw", "truth/4.test.calcium.csv", "sha256:5e400ac22e34b8feb05ad1d9f624d549728b481c1b035b51c1da676c9a294d78"),
    "spikefinder/test/4.test.spikes.csv": Remote("spikefinder-raw", "truth/4.test.spikes.csv", "sha256:31809c057c3ca7a93d164ebd261491db78ef60a93bc80e41df05bd771eb67995"),
    "spikefinder/test/5.test.calcium.csv": Remote("spikefinder-raw", "truth/5.test.calcium.csv", "sha256:abe430f0092e156495133d69079601b5ef958a1d479c9df7b9150c1a52475e37"),
    "spikefinder/test/5.test.spikes.csv": Remote("spikefinder-raw", "truth/5.test.spikes.csv", "sha256:391317820a400c751995cce337fb63abda711b83d2f87c972657a83b83a6f071"),
    # the test-set predictions of two submissions (bolte: all sets; speiser: sets 1, 4, 5 only)
    "spikefinder/submissions/bolte/1.test.spikes.csv": Remote(
        "spikefinder-raw", "bolte/1.test.spikes.csv", "sha256:0ed764cd05baa070149ede931e9cd22bf187bc2823dd11989493099cd04b7d62"
    ),
    "spikefinder/submissions/bolte/2.test.spikes.csv": Remote(
        "spikefinder-raw", "bolte/2.test.spikes.csv", "sha256:bf3a6f1fbe23a05ec28256103475269c78f3695a12b9e53e48b81ebe331eb263"
    ),
    "spikefinder/submissions/bolte/3.test.spikes.csv": Remote(
        "spikefinder-raw", "bolte/3.test.spikes.csv", "sha256:b8f4fc4d1e59d64b5773c6e3c528f33e3dba4953a7c07c9a1f001f609c6c1ae8"
    ),
    "spikefinder/submissions/bolte/4.test.spikes.csv": Remote(
        "spikefinder-raw", "bolte/4.test.spikes.csv", "sha256:9b3eee40ea31f790c25c1da3d2f6d2f6d0587a0c65787d2b3e6c2ac6b25108a0"
    ),
    "spikefinder/submissions/bolte/5.test.spikes.csv": Remote(
        "spikefinder-raw", "bolte/5.test.spikes.csv", "sha256:94d27312b029fd87e14f596bc728da92917148c74a00f130e72d3192fbd9f866"
    ),
    "spikefinder/submissions/speiser/1.test.spikes.csv": Remote(
        "spikefinder-raw", "speiser/1.test.spikes.csv", "sha256:762d85965f9d9f307d6f559631699fbba4ccd1049a13b7f36f9169dfc0c60200"
    ),
    "spikefinder/submissions/speiser/4.test.spikes.csv": Remote(
        "spikefinder-raw", "speiser/4.test.spikes.csv", "sha256:3d4b5bf286fc3136faa824b13d1cbe4ecc05a564fe430b8271c1a9ab3a52bb3f"
    ),
    "spikefinder/submissions/speiser/5.test.spikes.csv": Remote(
        "spikefinder-raw", "speiser/5.test.spikes.csv", "sha256:86be293f10f75501a3b519f528dea03bc233eb361dfbd2f38b9c693f0f2a9a8a"
    ),
    # the published per-cell scores (the reference the book's scorer is tested against)
    "spikefinder/official_results/results_24_07_17.csv": Remote(
        "spikefinder-results", "results_24_07_17.csv", "sha256:c5926d1983a83bd150a67185e1b15ced89dc2347eda99b6b302ee811be12330d"
    ),
}


#: The datasets a chapter or a user asks for by name: their files are the keys of :data:`FILES` that
#: start with one of the prefixes, and (for ``"spikefinder"``) carry the book's SHA256 digests.
DATASETS: dict[str, tuple[str, str]] = {
    "chen2013": ("cascade_chen2013/", "Chen et al. (2013) GCaMP6f and GCaMP6s recordings, CASCADE format"),
    "spikefinder": ("spikefinder/", "the Spikefinder challenge files this book's results were computed on"),
    "spikefinder-full": ("spikefinder/", "every Spikefinder file, with the calcium this book never had"),
}

#: Environment variable with a base URL under which every file sits at its path in the data folder, so
#: that any copy of a data folder served over HTTP is a mirror (the tests serve one on 127.0.0.1).
URL_ENV_VAR = "SPIKEBOOK_DATA_URL"

#: Download attempts per file and seconds before giving up on a silent server.
ATTEMPTS, TIMEOUT_S = 3, 60


class DataUnavailableError(FileNotFoundError):
    """A dataset is not in the data folder and could not be downloaded; the message says what to do.

    In a notebook the message alone is shown (IPython's ``_render_traceback_``): the reader needs the one
    call that fills the folder, not a traceback into the download library.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def git_blob_id(path: str | os.PathLike[str]) -> str:
    """The git object id of a file's content: SHA1 of ``b"blob <size>\\0"`` followed by the bytes."""
    data = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _parse_digest(digest: str) -> tuple[str, str]:
    kind, _, value = digest.partition(":")
    if kind not in ("sha256", "git-blob") or not value:
        raise ValueError(f"digest must be 'sha256:<hex>' or 'git-blob:<hex>', got {digest!r}")
    return kind, value


def digest_matches(path: str | os.PathLike[str], digest: str) -> bool:
    """Whether the file at ``path`` has ``digest`` (``"sha256:<hex>"`` or ``"git-blob:<hex>"``)."""
    kind, value = _parse_digest(digest)
    if kind == "git-blob":
        return git_blob_id(path) == value
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest() == value


def url_of(key: str) -> str:
    """Where the file ``key`` of :data:`FILES` is downloaded from: the mirror of ``SPIKEBOOK_DATA_URL`` when
    set, else its pinned source."""
    if mirror := os.environ.get(URL_ENV_VAR):
        return f"{mirror.rstrip('/')}/{key}"
    entry = FILES[key]
    return SOURCES[entry.source] + entry.path


def download(url: str, digest: str, folder: Path, fname: str, overwrite: bool = False) -> Path:
    """Fetch one file into ``folder / fname`` (pooch's HTTP downloader) and check its digest.

    The bytes go to a temporary file in the same folder that is renamed over ``fname`` only once its digest
    matches, so an interrupted or corrupted download leaves nothing behind. A file already at ``fname`` is
    never downloaded again: it is kept if its digest matches, and otherwise refused (unless ``overwrite``),
    because it may be the user's own. Connection failures are retried (:data:`ATTEMPTS`).

    Returns:
        The path of the file.

    Raises:
        ConnectionError: If the file cannot be downloaded (e.g. offline); the message names the URL.
        ValueError: If the downloaded or existing file's digest differs (not a network problem), or
            ``digest`` is malformed.
    """
    import pooch  # imported only when a download is asked for

    _parse_digest(digest)
    target = folder / fname
    if target.exists() and not overwrite:
        if digest_matches(target, digest):
            return target
        raise ValueError(
            f"{target} exists but is not the file of {url} (digest {digest}); it was left as it is: move it "
            "away, or pass overwrite=True to replace it"
        )
    with replacing(target) as partial:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT_S)(url, str(partial), None)
                break
            except Exception as err:  # requests' exceptions do not all derive from OSError
                if attempt == ATTEMPTS:
                    raise ConnectionError(f"could not download {url}: {err}") from err
                time.sleep(attempt)
        if not digest_matches(partial, digest):
            raise ValueError(f"hash mismatch for {fname} from {url}: expected {digest}; nothing was kept")
    return target


def fetch(
    prefixes: str | Iterable[str],
    root: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Download every entry of :data:`FILES` whose path starts with one of ``prefixes``, each checked.

    Files already there with the right digest are kept without a download; files there with another
    content are refused, not replaced (``overwrite=True`` replaces them).

    Args:
        prefixes: Paths relative to the data folder, e.g. ``"spikefinder/test/"`` or one file's key.
        root: The data folder (default: :func:`~spikebook.data.paths.data_root`), created if needed.
        overwrite: Replace files whose content differs from the pinned one.
        progress: Show a progress bar over the files (tqdm).

    Returns:
        The data folder.

    Raises:
        ValueError: If a prefix matches no entry, or as :func:`download`.
        ConnectionError: As :func:`download`.
    """
    prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
    if not prefixes or not all(isinstance(p, str) for p in prefixes):
        raise ValueError(f"prefixes must be paths relative to the data folder, got {prefixes!r}")
    unknown = [p for p in prefixes if not any(key.startswith(p) for key in FILES)]
    if unknown:
        raise ValueError(f"no downloadable files under {unknown}")
    return _fetch_keys([key for key in FILES if key.startswith(prefixes)], data_root(root, create=True),
                       overwrite, progress)


def _fetch_keys(keys: list[str], root: Path, overwrite: bool, progress: bool) -> Path:
    from tqdm.auto import tqdm

    for key in tqdm(keys, desc="downloading", unit="file", disable=not progress):
        target = root / key
        download(url_of(key), FILES[key].digest, target.parent, target.name, overwrite)
    return root


def dataset_files(name: str) -> list[str]:
    """The keys of :data:`FILES` that make up the dataset ``name`` of :data:`DATASETS`."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; the datasets are {sorted(DATASETS)}")
    prefix = DATASETS[name][0]
    keys = [key for key in FILES if key.startswith(prefix)]
    return [k for k in keys if FILES[k].digest.startswith("sha256:")] if name == "spikefinder" else keys


def require(name: str, root: str | os.PathLike[str] | None = None, *, progress: bool = True) -> Path:
    """The data folder, holding every file of the dataset ``name``: what is missing is downloaded first.

    Chapters call this in their first data cell, so that Binder, Colab and a fresh clone fetch what they
    need into the per-user cache while the tests and CI read ``shared/data`` offline. Files already there
    are checked against their digests and kept.

    Args:
        name: A key of :data:`DATASETS`: ``"chen2013"``, ``"spikefinder"`` or ``"spikefinder-full"``.
        root: The data folder (default: the resolution order of :func:`~spikebook.data.paths.data_root`).
        progress: Show a progress bar while downloading.

    Returns:
        The data folder (pass it on as ``root=``).

    Raises:
        DataUnavailableError: If files are missing and cannot be downloaded (offline, or the source no
            longer serves them); one line naming the dataset, the folder and the call that fills it.
        ValueError: For an unknown name, or a file there whose digest differs (it is never replaced here).
    """
    keys = dataset_files(name)
    folder = data_root(root, create=True)
    missing = [key for key in keys if not (folder / key).is_file()]
    if missing:
        try:
            _fetch_keys(missing, folder, overwrite=False, progress=progress)
        except ConnectionError as err:
            raise DataUnavailableError(
                f"dataset {name!r} ({DATASETS[name][1]}) is not complete in {folder} ({len(missing)} of "
                f"{len(keys)} files missing, e.g. {missing[0]}) and could not be downloaded ({err}); with a "
                f"network, run spikebook.data.remote.require({name!r}, {str(folder)!r}), or set {DATA_ENV_VAR} to a "
                "folder that holds it"
            ) from None
    for key in set(keys) - set(missing):
        if not digest_matches(folder / key, FILES[key].digest):
            raise ValueError(f"{folder / key} is not the file this book was computed on ({FILES[key].digest})")
    return folder

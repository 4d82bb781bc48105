package run.cocoon.shim.image;

/**
 * Every bound the image code enforces on untrusted input (manifests, configs, layer tars, registry
 * answers). Each one is listed in docs/limits.md under "Images"; change both together.
 */
public final class ImageLimits {
  /** A manifest or index document; real ones are a few KiB, so 4 MiB is generous. */
  public static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
  /** An image config blob (history and env grow it; 8 MiB covers every real image). */
  public static final int MAX_CONFIG_BYTES = 8 * 1024 * 1024;
  /** Layers per image; Docker itself stops at 127 for overlayfs. */
  public static final int MAX_LAYERS = 128;
  /** Entries of an image index considered when picking a platform. */
  public static final int MAX_INDEX_ENTRIES = 1024;
  /** One layer blob as stored (compressed). */
  public static final long MAX_LAYER_BYTES = 16L * 1024 * 1024 * 1024;
  /** Sum of all uncompressed tar entries of one image: stops decompression bombs. */
  public static final long MAX_UNPACKED_BYTES = 64L * 1024 * 1024 * 1024;
  /** Tar entries (files, dirs, links, whiteouts) over all layers of one image. */
  public static final int MAX_ENTRIES = 2_000_000;
  /** Bytes of one entry's path; PATH_MAX on Linux. */
  public static final int MAX_ENTRY_NAME_BYTES = 4096;
  /** Bytes of a symlink or hard-link target. */
  public static final int MAX_LINK_TARGET_BYTES = 4096;
  /** Bytes of one path component; NAME_MAX on Linux. */
  public static final int MAX_NAME_COMPONENT_BYTES = 255;
  /** Directory depth of one entry. */
  public static final int MAX_PATH_DEPTH = 256;
  /** Extended attributes on one entry. */
  public static final int MAX_XATTRS_PER_ENTRY = 64;
  /** Bytes of one extended attribute value (the ext4 in-inode/block limit is about 4 KiB). */
  public static final int MAX_XATTR_VALUE_BYTES = 64 * 1024;
  /** Image references as typed by users ("host:port/name:tag@sha256:..."). */
  public static final int MAX_REFERENCE_LENGTH = 512;
  /** Names stored in one store's index. */
  public static final int MAX_STORED_NAMES = 100_000;
  /** The store's index.json. */
  public static final int MAX_INDEX_FILE_BYTES = 64 * 1024 * 1024;
  /** A docker-save manifest.json or an OCI layout's index.json inside an archive. */
  public static final int MAX_ARCHIVE_METADATA_BYTES = 16 * 1024 * 1024;
  /** Files in an imported archive (OCI layout tar or docker save). */
  public static final int MAX_ARCHIVE_ENTRIES = 100_000;
  /** A bearer token answer from a registry's token service. */
  public static final int MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
  /** Layers downloaded at once during a pull. */
  public static final int PULL_PARALLELISM = 3;
  /** Connecting to a registry or token service. */
  public static final int CONNECT_TIMEOUT_SECONDS = 20;
  /** No bytes from the registry for this long fails the request. */
  public static final int REQUEST_TIMEOUT_SECONDS = 300;
  /** Attempts per blob download when the connection fails (not on digest mismatch). */
  public static final int DOWNLOAD_ATTEMPTS = 3;
  /** Redirects followed by a blob download (registries redirect to storage). */
  public static final int MAX_REDIRECTS = 5;
  /** Free space mkfs.ext4 leaves beyond the content, in percent of the content. */
  public static final int DISK_SLACK_PERCENT = 20;
  /** Smallest rootfs disk, so tiny images still get a valid ext4 with a journal-free layout. */
  public static final long MIN_DISK_BYTES = 16L * 1024 * 1024;
  /** Largest rootfs disk cocoon builds. */
  public static final long MAX_DISK_BYTES = 256L * 1024 * 1024 * 1024;
  /** mkfs.ext4 runs at most this long. */
  public static final int MKFS_TIMEOUT_SECONDS = 600;

  private ImageLimits() {}
}

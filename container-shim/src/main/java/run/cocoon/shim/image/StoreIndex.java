package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The store's names: an OCI image-layout index.json whose entries carry the name in the standard
 * org.opencontainers.image.ref.name annotation, so the store is itself a valid OCI layout that
 * umoci and skopeo can read. Only changed under the store lock and replaced atomically.
 */
final class StoreIndex {
  static final String REF_NAME = "org.opencontainers.image.ref.name";

  private StoreIndex() {}

  /** Name to manifest descriptor, sorted by name. A missing file is an empty store. */
  static TreeMap<String, Descriptor> read(Path indexFile) {
    byte[] data;
    try {
      if (Files.size(indexFile) > ImageLimits.MAX_INDEX_FILE_BYTES) {
        throw corrupt(indexFile, "larger than " + ImageLimits.MAX_INDEX_FILE_BYTES + " bytes");
      }
      data = Files.readAllBytes(indexFile);
    } catch (NoSuchFileException e) {
      return new TreeMap<>();
    } catch (IOException e) {
      throw ImageException.io("cannot read " + indexFile, e);
    }
    TreeMap<String, Descriptor> out = new TreeMap<>();
    try {
      JsonNode n = Json.parse(data, indexFile.toString());
      JsonNode ms = n.get("manifests");
      if (ms == null || !ms.isArray()) {
        throw corrupt(indexFile, "'manifests' missing");
      }
      for (JsonNode m : ms) {
        Descriptor d = Descriptor.fromJson(m, indexFile + " entry");
        String name = d.annotations().get(REF_NAME);
        if (name == null) {
          continue; // an entry some other tool added without a name; keep ignoring it
        }
        out.put(name, d);
        if (out.size() > ImageLimits.MAX_STORED_NAMES) {
          throw corrupt(indexFile, "more than " + ImageLimits.MAX_STORED_NAMES + " names");
        }
      }
    } catch (ImageException e) {
      if (e.getMessage().startsWith("image store index")) {
        throw e;
      }
      throw corrupt(indexFile, e.getMessage());
    }
    return out;
  }

  static void write(Path indexFile, Map<String, Descriptor> names) throws IOException {
    ObjectNode o = Json.object();
    o.put("schemaVersion", 2);
    o.put("mediaType", MediaTypes.OCI_INDEX);
    ArrayNode a = o.putArray("manifests");
    for (var e : new TreeMap<>(names).entrySet()) {
      Descriptor d = e.getValue();
      var ann = new TreeMap<>(d.annotations());
      ann.put(REF_NAME, e.getKey());
      a.add(new Descriptor(d.mediaType(), d.digest(), d.size(), d.platform(), ann).toJson());
    }
    Fs.writeAtomically(indexFile, Json.write(o));
  }

  private static ImageException corrupt(Path f, String why) {
    return new ImageException(
        ImageException.Kind.FAILURE,
        "image store index " + f + " is corrupt (" + why + "); move it aside and re-import or"
            + " re-pull the images");
  }
}

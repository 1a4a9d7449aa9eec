package kvmkmod.guests;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

/**
 * The bundled teaching guests: small programs starting in 16-bit real mode whose GNU as source ({@code NAME.S}) and
 * assembled flat image ({@code NAME.bin}) live side by side under {@code /guests/} on the classpath,
 * described by {@code /guests/guests.properties}.
 */
public final class Guests {
    private Guests() {}

    /** Where the resources live on the classpath. */
    public static final String RESOURCE_DIR = "/guests/";

    /** One bundled guest: its flat image and the guest-physical address it is linked at. */
    public static final class Guest {
        public final String name;
        public final String description;
        public final long loadAddress;
        private final byte[] image;

        Guest(String name, String description, long loadAddress, byte[] image) {
            this.name = name;
            this.description = description;
            this.loadAddress = loadAddress;
            this.image = image;
        }

        /** A copy of the flat image bytes. */
        public byte[] image() { return image.clone(); }

        /** The assembly source the image was built from. */
        public String source() { return sourceFile(name + ".S"); }

        @Override public String toString() { return name + " @" + Long.toHexString(loadAddress) + ": " + description; }
    }

    private static Properties index;

    private static synchronized Properties index() {
        if (index == null) {
            Properties p = new Properties();
            try (InputStream in = Guests.class.getResourceAsStream(RESOURCE_DIR + "guests.properties")) {
                if (in == null) throw new IllegalStateException("guests.properties missing from the classpath");
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            index = p;
        }
        return index;
    }

    /** The names of the bundled guests, in index order. */
    public static List<String> names() {
        List<String> l = new ArrayList<>();
        for (String n : index().getProperty("names", "").split(","))
            if (!n.isBlank()) l.add(n.trim());
        return Collections.unmodifiableList(l);
    }

    public static boolean exists(String name) { return names().contains(name); }

    /**
     * The files the guest sources {@code .include} that are not guests themselves (property
     * {@code includes}); a guest source may also include another guest's source.
     */
    public static List<String> includes() {
        List<String> l = new ArrayList<>();
        for (String n : index().getProperty("includes", "").split(","))
            if (!n.isBlank()) l.add(n.trim());
        return Collections.unmodifiableList(l);
    }

    /** The text of a bundled source file: a guest's {@code NAME.S} or one of {@link #includes()}. */
    public static String sourceFile(String file) {
        return new String(resource(file), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Loads a bundled guest; throws {@link IllegalArgumentException} naming the known guests if there is none. */
    public static Guest load(String name) {
        if (!exists(name))
            throw new IllegalArgumentException("unknown guest '" + name + "' (known: " + String.join(", ", names()) + ")");
        Properties p = index();
        long load = Long.decode(p.getProperty(name + ".load", "0x7c00"));
        return new Guest(name, p.getProperty(name + ".description", ""), load, resource(name + ".bin"));
    }

    static byte[] resource(String file) {
        try (InputStream in = Guests.class.getResourceAsStream(RESOURCE_DIR + file)) {
            if (in == null) throw new IllegalStateException("guest resource " + file + " missing from the classpath");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

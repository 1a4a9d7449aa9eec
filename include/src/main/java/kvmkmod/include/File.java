package kvmkmod.include;

/** struct file: an open file's operations and the private_data its owner hangs on it. */
public final class File {
    public final FileOperations f_op;
    public final Object private_data;
    final String name;

    public File(String name, FileOperations f_op, Object private_data) {
        this.name = name;
        this.f_op = f_op;
        this.private_data = private_data;
    }

    @Override public String toString() { return name; }
}

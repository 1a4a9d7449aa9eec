package kvmkmod.include;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Where a mirrored function comes from in Linux 2.6.33.3: the one machine-readable cross-reference.
 * The documentation's index, the call-path pages and the function-graph tracer all read it, and a
 * test checks every use against the reference list of 2.6.33.3 functions, so a wrong line or a
 * misspelt name fails the build.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.CONSTRUCTOR})
public @interface Origin {
    /** Source file in the kernel tree, e.g. {@code arch/x86/kvm/x86.c}. */
    String file();

    /** Line of the function name in 2.6.33.3. */
    int line();

    /** The C function name when it differs from the Java method name (default: the method name). */
    String function() default "";

    /** Whether the Java body does all the C body does. */
    Status status() default Status.FAITHFUL;

    /** For {@link Status#SIMPLIFIED}: one line saying what is left out and why. */
    String note() default "";

    enum Status { FAITHFUL, SIMPLIFIED }
}

package kvmkmod.include.trace;

import static net.bytebuddy.matcher.ElementMatchers.declaresMethod;
import static net.bytebuddy.matcher.ElementMatchers.isAbstract;
import static net.bytebuddy.matcher.ElementMatchers.isAnnotatedWith;
import static net.bytebuddy.matcher.ElementMatchers.isBridge;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isMethod;
import static net.bytebuddy.matcher.ElementMatchers.isNative;
import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.not;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.instrument.Instrumentation;
import kvmkmod.include.Origin;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.annotation.AnnotationDescription;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.implementation.bytecode.assign.Assigner;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * Installs the function-graph instrumentation: every method or constructor that carries
 * {@link Origin}, in a class under {@code kvmkmod.}, reports its entry and exit to {@link Ftrace} under
 * its C name. Classes loaded before the call are retransformed, classes loaded later are transformed
 * as they load. Until {@link #install()} runs nothing is touched, so an untraced run executes the
 * plain bytecode; once installed, a call pays a volatile read on entry and on exit while
 * {@link Ftrace#on} is false.
 */
public final class FunctionGraph {
    private FunctionGraph() {}

    private static ResettableClassFileTransformer transformer;

    /** Installs the agent and the transformation; later calls do nothing. */
    public static synchronized void install() {
        if (transformer != null) return;
        Instrumentation inst;
        try {
            inst = ByteBuddyAgent.install();
        } catch (IllegalStateException e) {
            throw new IllegalStateException("function-graph tracing attaches an agent to this JVM and needs a JDK"
                    + " with the jdk.attach module (not a bare JRE): " + e.getMessage(), e);
        }
        ElementMatcher.Junction<MethodDescription> traced =
                isAnnotatedWith(named(Origin.class.getName()))
                        .and(not(isAbstract())).and(not(isNative()))
                        .and(not(isBridge())).and(not(isSynthetic()));
        // Methods get exit advice on throwable too; constructors cannot (the JVM forbids a handler
        // around the super call), so a throwing constructor is closed by its caller's exit.
        Advice methods = Advice.withCustomMapping().bind(CFunction.class, CFunctionName.INSTANCE)
                .to(MethodAdvice.class);
        Advice constructors = Advice.withCustomMapping().bind(CFunction.class, CFunctionName.INSTANCE)
                .to(ConstructorAdvice.class);
        transformer = new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                // Match on the class files, not on reflection: reflecting a loaded class resolves its
                // signatures and loads classes while the transformer is busy, and those would be missed.
                .with(AgentBuilder.DescriptionStrategy.Default.POOL_FIRST)
                .with(AgentBuilder.Listener.StreamWriting.toSystemError().withErrorsOnly())
                .ignore(not(nameStartsWith("kvmkmod.")).or(nameStartsWith(Ftrace.class.getName()))
                        .or(nameStartsWith(FunctionGraph.class.getName())))
                .type(nameStartsWith("kvmkmod.").and(declaresMethod(traced)))
                .transform((builder, type, loader, module, domain) -> builder
                        .visit(methods.on(isMethod().and(traced)))
                        .visit(constructors.on(isConstructor().and(traced))))
                .installOn(inst);
    }

    public static synchronized boolean isInstalled() { return transformer != null; }

    /** The name the tracer shows for a method: {@link Origin#function()}, else the Java name. */
    static String cName(MethodDescription m) {
        AnnotationDescription.Loadable<Origin> origin = m.getDeclaredAnnotations().ofType(Origin.class);
        String fn = origin == null ? "" : origin.getValue("function").resolve(String.class);
        if (!fn.isEmpty()) return fn;
        return m.isConstructor() ? m.getDeclaringType().asErasure().getSimpleName() : m.getName();
    }

    /** Marks the advice parameter that receives the C function name as a constant. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @interface CFunction {}

    static final class CFunctionName implements Advice.OffsetMapping {
        static final Advice.OffsetMapping INSTANCE = new CFunctionName();

        @Override
        public Target resolve(TypeDescription instrumentedType, MethodDescription instrumentedMethod,
                Assigner assigner, Advice.ArgumentHandler argumentHandler, Sort sort) {
            return Target.ForStackManipulation.of(cName(instrumentedMethod));
        }
    }

    static final class MethodAdvice {
        @Advice.OnMethodEnter
        static void enter(@CFunction String fn) { Ftrace.entry(fn); }

        @Advice.OnMethodExit(onThrowable = Throwable.class)
        static void exit(@CFunction String fn) { Ftrace.exit(fn); }
    }

    static final class ConstructorAdvice {
        @Advice.OnMethodEnter
        static void enter(@CFunction String fn) { Ftrace.entry(fn); }

        @Advice.OnMethodExit
        static void exit(@CFunction String fn) { Ftrace.exit(fn); }
    }
}

// The C library's elementary functions under one set of names, for the float64 references,
// `VectorMath`'s slow paths and table, and the random inputs (Glibc, Musl or Darwin;
// `@usableFromInline` so that inlinable code may call them).
#if canImport(Glibc)
import Glibc
@usableFromInline func _exp(_ x: Double) -> Double { Glibc.exp(x) }
@usableFromInline func _exp2(_ x: Double) -> Double { Glibc.exp2(x) }
@usableFromInline func _expf(_ x: Float) -> Float { Glibc.expf(x) }
@usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
@usableFromInline func _sin(_ x: Double) -> Double { Glibc.sin(x) }
@usableFromInline func _tanh(_ x: Double) -> Double { Glibc.tanh(x) }
#elseif canImport(Musl)
import Musl
@usableFromInline func _exp(_ x: Double) -> Double { Musl.exp(x) }
@usableFromInline func _exp2(_ x: Double) -> Double { Musl.exp2(x) }
@usableFromInline func _expf(_ x: Float) -> Float { Musl.expf(x) }
@usableFromInline func _log(_ x: Double) -> Double { Musl.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Musl.cos(x) }
@usableFromInline func _sin(_ x: Double) -> Double { Musl.sin(x) }
@usableFromInline func _tanh(_ x: Double) -> Double { Musl.tanh(x) }
#else
import Darwin
@usableFromInline func _exp(_ x: Double) -> Double { Darwin.exp(x) }
@usableFromInline func _exp2(_ x: Double) -> Double { Darwin.exp2(x) }
@usableFromInline func _expf(_ x: Float) -> Float { Darwin.expf(x) }
@usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
@usableFromInline func _sin(_ x: Double) -> Double { Darwin.sin(x) }
@usableFromInline func _tanh(_ x: Double) -> Double { Darwin.tanh(x) }
#endif

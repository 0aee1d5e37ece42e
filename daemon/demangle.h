/*
 * demangle.h - C++ symbol names made readable, with libstdc++'s
 * __cxa_demangle (the demangler every GNU tool shares), so that a frame
 * reads "ns::Klass::method(int)" instead of "_ZN2ns5Klass6methodEi".
 *
 * Whoever links this needs -lstdc++.
 */
#ifndef PK_DEMANGLE_H
#define PK_DEMANGLE_H

/*
 * Demangle a symbol name.  Returns a malloc'd readable name that the caller
 * frees, or NULL when the name is not a mangled C++ name (plain C names,
 * names the demangler rejects): the caller then keeps the original.  A
 * symbol version suffix ("@GLIBCXX_3.4", "@@...") is kept after the
 * demangled part.
 */
char *pk_demangle(const char *name);

#endif

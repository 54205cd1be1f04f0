/* probe_sites.S: a fake TLS library for test_probe_plan (built into
 * $(BUILD)/tests/probe_sites.so): the prologues CET builds and stripped
 * libraries give the probe planner, each with a known right answer. */
        .text

/* endbr64, then push: the site is +4. */
        .globl SSL_read
        .type SSL_read,@function
SSL_read:
        endbr64
        push %rbp
        pop %rbp
        ret
        .size SSL_read,.-SSL_read

/* endbr64 and a write to an argument register before the push: no site. */
        .globl SSL_read_ex
        .type SSL_read_ex,@function
SSL_read_ex:
        endbr64
        xor %edx,%edx
        push %rbp
        pop %rbp
        ret
        .size SSL_read_ex,.-SSL_read_ex

/* endbr64, a copy to another register, then push: the site is +7. */
        .globl SSL_write
        .type SSL_write,@function
SSL_write:
        endbr64
        mov %rdi,%rax
        push %rbp
        pop %rbp
        ret
        .size SSL_write,.-SSL_write

/* endbr64, test, je as in SSL_free, but a loop jumps back to the je: a probe
 * there would fire on every turn of the loop, so no site. */
        .globl SSL_write_ex
        .type SSL_write_ex,@function
SSL_write_ex:
        endbr64
        test %rdi,%rdi
1:      je 2f
        dec %rdi
        jmp 1b
2:      ret
        .size SSL_write_ex,.-SSL_write_ex

/* endbr64, test %rdi,%rdi, je: the site is the je at +7. */
        .globl SSL_free
        .type SSL_free,@function
SSL_free:
        endbr64
        test %rdi,%rdi
        je 3f
        nop
3:      ret
        .size SSL_free,.-SSL_free

        .section .note.GNU-stack,"",@progbits

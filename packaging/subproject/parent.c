/* A parent project's program: prints the version of the libbitnet it runs. */
#include <stdio.h>

#include <bitnet/bitnet.h>

int main(void)
{
    printf("%s\n", bn_version_string());
    return 0;
}

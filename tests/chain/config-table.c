/* Prints jumpfs's ssh_config keyword table, one keyword a line:
 * "name kind [value...]", for the differential test's random configs. */
#include <stdio.h>

#include "chain/config-keywords.h"

int
main(void)
{
	static const char *const kinds[] = {
		[CONFIG_KIND_NONE] = "none", [CONFIG_KIND_FLAG] = "flag",
		[CONFIG_KIND_ENUM] = "enum", [CONFIG_KIND_INT] = "int",
		[CONFIG_KIND_TIME] = "time", [CONFIG_KIND_STRING] = "string",
		[CONFIG_KIND_COMMAND] = "command", [CONFIG_KIND_LIST] = "list",
		[CONFIG_KIND_ADD] = "add", [CONFIG_KIND_ALGOS] = "algos",
		[CONFIG_KIND_SPECIAL] = "special",
	};
	gsize count;
	const ConfigKeyword *table = config_keyword_table(&count);

	for (gsize i = 0; i < count; i++) {
		printf("%s %s", table[i].name, kinds[table[i].kind]);
		for (const ConfigEnum *e = table[i].values; e != NULL && e->name != NULL; e++)
			printf(" %s", e->name);
		printf("\n");
	}
	return 0;
}

#!/usr/bin/env bash
# The official wordpress image's entrypoint: on start, copy WordPress into an empty /var/www/html (keeping
# existing themes and plugins in wp-content) and, when WORDPRESS_* variables are set and there is no
# wp-config.php yet, write one from wp-config-docker.php with fresh salts.
set -Eeuo pipefail

if [[ "${1:-}" == apache2* ]]; then
    uid=$(id -u); gid=$(id -g)
    if [ "$uid" = 0 ]; then
        set +u # Debian's envvars reads unset variables
        # shellcheck disable=SC1091
        . /etc/apache2/envvars
        set -u
        user=${APACHE_RUN_USER:-www-data} group=${APACHE_RUN_GROUP:-www-data}
    else
        user=$uid group=$gid
    fi

    if [ ! -e index.php ] && [ ! -e wp-includes/version.php ]; then
        if [ "$uid" = 0 ] && [ "$(stat -c '%u:%g' .)" = 0:0 ]; then chown "$user:$group" .; fi
        echo >&2 "WordPress not found in $PWD - copying now..."
        if [ -n "$(find . -mindepth 1 -maxdepth 1 -not -name wp-content)" ]; then
            echo >&2 "WARNING: $PWD is not empty! (copying anyhow)"
        fi
        src=(--create --file - --directory /usr/src/wordpress --owner "$user" --group "$group")
        dst=(--extract --file -)
        if [ "$uid" != 0 ]; then dst+=(--no-overwrite-dir); fi
        # Themes and plugins already in wp-content (a volume) win over the image's copies.
        for p in /usr/src/wordpress/.htaccess /usr/src/wordpress/wp-content/*/*/; do
            p=${p%/}; [ -e "$p" ] || continue
            p=${p#/usr/src/wordpress/}
            if [ -e "$PWD/$p" ]; then
                echo >&2 "WARNING: '$PWD/$p' exists! (not copying the WordPress version)"
                src+=(--exclude "./$p")
            fi
        done
        tar "${src[@]}" . | tar "${dst[@]}"
        echo >&2 "Complete! WordPress has been successfully copied to $PWD"
    fi

    envs=("${!WORDPRESS_@}")
    if [ ! -s wp-config.php ] && [ "${#envs[@]}" -gt 0 ]; then
        echo >&2 "No 'wp-config.php' found in $PWD, but 'WORDPRESS_...' variables supplied; copying 'wp-config-docker.php' (${envs[*]})"
        # Each "put your unique phrase here" becomes its own random salt (unless set through the environment).
        awk '
            /put your unique phrase here/ {
                cmd = "head -c1m /dev/urandom | sha1sum | cut -d\\  -f1"
                cmd | getline str
                close(cmd)
                gsub("put your unique phrase here", str)
            }
            { print }
        ' /usr/src/wordpress/wp-config-docker.php >wp-config.php
        if [ "$uid" = 0 ]; then chown "$user:$group" wp-config.php || true; fi
    fi
fi

exec "$@"

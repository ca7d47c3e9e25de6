/* caselab_discussion: post and reply in the group; co-edit and submit the group's report. */
function CaseLabDiscussion(runtime, element, args) {
    var $root = $(element);

    var handlers = CaseLabHandlers(runtime, element), post = handlers.post, errorOf = handlers.errorOf;

    $root.on('submit', '.caselab-new-post', function (event) {
        event.preventDefault();
        var $form = $(this), body = $.trim($form.find('textarea').val()), parent = $form.find('[name=parent_id]').val();
        if (!body) { $form.find('.caselab-message').text(args.empty); return; }
        $form.find('button').prop('disabled', true);
        post('post', {body: body, parent_id: parent ? parseInt(parent, 10) : null})
            .done(function (answer) {
                $root.find('.caselab-thread').html(answer.html);
                $form.find('textarea').val('');
                $form.find('[name=parent_id]').val('');
                $form.find('.caselab-replying').prop('hidden', true).text('');
                $form.find('.caselab-message').text('');
            })
            .fail(function (xhr) { $form.find('.caselab-message').text(errorOf(xhr)); })
            .always(function () { $form.find('button').prop('disabled', false); });
    });

    $root.on('click', '.caselab-reply', function () {
        var $form = $root.find('.caselab-new-post');
        $form.find('[name=parent_id]').val($(this).attr('data-id'));
        $form.find('.caselab-replying').prop('hidden', false).text(args.reply + ': ' + $(this).attr('data-author'));
        $form.find('textarea').focus();
    });

    $root.on('click', '.caselab-refresh', function () {
        post('refresh').done(function (answer) { $root.find('.caselab-thread').html(answer.html); });
    });

    $root.on('submit', '.caselab-report-form', function (event) {
        event.preventDefault();
        var $form = $(this);
        post('save_report', {body: $form.find('textarea').val(), revision: parseInt($form.attr('data-revision'), 10)})
            .done(function (answer) {
                $form.attr('data-revision', answer.revision);
                $form.find('.caselab-revision').text($form.find('.caselab-revision').text().replace(/\d+$/, answer.revision));
                $form.find('.caselab-message').text('');
            })
            .fail(function (xhr) { $form.find('.caselab-message').text(errorOf(xhr)); });
    });

    $root.on('click', '.caselab-submit-report', function () {
        var $form = $root.find('.caselab-report-form');
        post('submit_report').done(function () { window.location.reload(); })
            .fail(function (xhr) { $form.find('.caselab-message').text(errorOf(xhr)); });
    });
}
